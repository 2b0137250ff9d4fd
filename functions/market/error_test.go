package market_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carrot-market/carrot/functions/market"
)

func TestErrorCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want market.Code
	}{
		{"nil", nil, ""},
		{"market error", market.Errorf(market.Conflict, "the item is sold out"), market.Conflict},
		{"each code survives", market.Errorf(market.Unavailable, "down"), market.Unavailable},
		{"wrapped market error", fmt.Errorf("confirm: %w", market.Errorf(market.Forbidden, "no")), market.Forbidden},
		{"joined market error", errors.Join(errors.New("first"), market.Errorf(market.NotFound, "gone")), market.NotFound},
		{"plain error is internal", errors.New("dynamodb: connection reset"), market.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, market.ErrorCode(tt.err))
		})
	}
}

func TestErrorf(t *testing.T) {
	t.Parallel()
	err := market.Errorf(market.Conflict, "a %s item cannot be deleted", market.ItemReserved)
	assert.Equal(t, market.Conflict, err.Code)
	assert.Equal(t, "a RESERVED item cannot be deleted", err.Message)
	assert.Empty(t, err.Fields)
	assert.Equal(t, "conflict: a RESERVED item cannot be deleted", err.Error())
}

func TestFieldsErr(t *testing.T) {
	t.Parallel()

	t.Run("no field is no error", func(t *testing.T) {
		t.Parallel()
		var f market.Fields
		assert.NoError(t, f.Err())
		assert.Nil(t, f.Err(), "an empty Fields must give an untyped nil error")
	})

	t.Run("every field is named in order", func(t *testing.T) {
		t.Parallel()
		var f market.Fields
		f.Add("name", "is required")
		f.Add("price", "must be between %d and %d won", 0, 1_000_000_000)
		assert.True(t, f.Has("price"))
		assert.False(t, f.Has("category"))
		err := f.Err()
		require.Error(t, err)
		assert.Equal(t, market.Invalid, market.ErrorCode(err))

		var me *market.Error
		require.ErrorAs(t, err, &me)
		assert.Equal(t, []market.FieldError{
			{Field: "name", Message: "is required"},
			{Field: "price", Message: "must be between 0 and 1000000000 won"},
		}, me.Fields)
		assert.NotEmpty(t, me.Message)
		assert.Contains(t, err.Error(), "invalid: ")
		assert.Contains(t, err.Error(), "name")
		assert.Contains(t, err.Error(), "price")
	})
}
