package dynamo

// WordFeed names a token's partition of the word index, for the tests.
var WordFeed = wordFeed
