package serving

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRevisionsRollOutTheNextRevisionOverTheServingEnvironment(t *testing.T) {
	t.Parallel()
	r := newRevisions("fn")
	require.Equal(t, "fn-00001", r.serving.name)

	ro, err := r.begin(map[string]string{"A": "1"}, 2)
	require.NoError(t, err)
	_, err = r.begin(nil, 1)
	assert.ErrorIs(t, err, ErrRolloutInProgress)
	assert.Same(t, ro, r.rolloutOf(ro.rev))
	assert.Nil(t, r.rolloutOf(r.serving))
	ro.instanceReady()
	assert.False(t, ro.complete())
	ro.instanceReady()
	assert.True(t, ro.complete())
	<-ro.done
	r.end(nil)

	assert.Equal(t, "fn-00002", r.serving.name)
	assert.Nil(t, r.pending)
	next, err := r.begin(map[string]string{"B": "2"}, 1)
	require.NoError(t, err)
	assert.Equal(t, "fn-00003", next.rev.name)
	assert.Equal(t, "fn-00002", next.previous.name)
	assert.Equal(t, map[string]string{"A": "1", "B": "2"}, next.rev.env)
}

func TestFailedRolloutKeepsTheServingRevisionAndBurnsItsName(t *testing.T) {
	t.Parallel()
	r := newRevisions("fn")
	ro, err := r.begin(nil, 2)
	require.NoError(t, err)

	ro.fail(errors.New("first"))
	ro.fail(errors.New("second"))
	<-ro.done
	r.end(ro.err)

	assert.EqualError(t, ro.err, "first")
	assert.False(t, ro.complete())
	assert.Equal(t, "fn-00001", r.serving.name)
	next, err := r.begin(nil, 1)
	require.NoError(t, err)
	assert.Equal(t, "fn-00003", next.rev.name)
	assert.Equal(t, map[string]string{}, next.rev.env)
}
