package dynamo

// WordFeed names a token's partition of the word index, for the tests.
var WordFeed = wordFeed

// MaxPageRead is the most rows a page may ask DynamoDB to read.
const MaxPageRead = maxPageRead
