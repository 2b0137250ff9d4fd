package dynamo

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A cursor whose key values DynamoDB would refuse never reaches it: it is
// a bad cursor, as one that was never given out.
func TestDecodeCursorRefusesOversizedKeys(t *testing.T) {
	t.Parallel()
	attrs := []string{"itemId", "sellerId"}
	forge := func(itemID, sellerID string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(`{"itemId":"` + itemID + `","sellerId":"` + sellerID + `"}`))
	}
	longest := strings.Repeat("i", maxKeyBytes)
	_, err := decodeCursor(forge(longest, longest), attrs, nil)
	assert.NoError(t, err, "keys of %d bytes are taken", maxKeyBytes)
	for _, c := range []string{forge(longest+"i", "ann"), forge("item-1", strings.Repeat("s", 3000))} {
		_, err := decodeCursor(c, attrs, nil)
		assert.Error(t, err)
	}
}
