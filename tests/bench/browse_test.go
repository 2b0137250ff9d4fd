package main

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSizes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1000,10000,100000", []int{1000, 10000, 100000}, true},
		{" 10 , 20", []int{10, 20}, true},
		{"1000", []int{1000}, true},
		{"1000,1000", nil, false},
		{"10000,1000", nil, false},
		{"0", nil, false},
		{"ten", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseSizes(tt.in)
			if !tt.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSampleRoundsCostPerRead(t *testing.T) {
	t.Parallel()
	m := &meter{}
	m.add(&types.ConsumedCapacity{CapacityUnits: aws.Float64(99)}, 99) // before the run: not counted
	var order []string
	ss, err := sampleRounds(m, 4, []func() (int, error){
		func() (int, error) {
			order = append(order, "a")
			m.add(&types.ConsumedCapacity{CapacityUnits: aws.Float64(2.5)}, 20)
			m.add(nil, 4)
			return 20, nil
		},
		func() (int, error) {
			order = append(order, "b")
			m.add(nil, 1)
			return 1, nil
		},
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "a", "b", "a", "b", "a", "b"}, order, "the reads take turns")
	require.Len(t, ss, 2)
	assert.Equal(t, 4, ss[0].Latency.N)
	assert.Equal(t, 20, ss[0].Items)
	assert.Equal(t, readCost{Units: 2.5, Scanned: 24, Known: true}, ss[0].Cost)
	assert.Equal(t, readCost{Scanned: 1}, ss[1].Cost, "each read is charged its own calls")
	assert.Equal(t, readCost{}, m.take(), "sampleRounds takes what it counted")
}

func TestReadCostMeasure(t *testing.T) {
	t.Parallel()
	assert.InDelta(t, 3.0, readCost{Units: 3, Scanned: 20, Known: true}.measure(), 1e-9)
	assert.InDelta(t, 20.0, readCost{Scanned: 20}.measure(), 1e-9, "rows read when capacity is not reported")
	assert.Equal(t, "3.0 read units/page, 20 rows read/page", readCost{Units: 3, Scanned: 20, Known: true}.String())
}

func TestBrowseRowsGrowth(t *testing.T) {
	t.Parallel()
	at := func(size int, units float64) browseResult {
		r := browseResult{Size: size, Store: map[string]browseSample{}, Scan: map[string]browseSample{}}
		for _, bc := range browseCases {
			r.Store[bc.Name] = browseSample{Cost: readCost{Units: units, Scanned: int32(units), Known: true}}
			r.Scan[bc.Name] = browseSample{Cost: readCost{Units: 10 * float64(size), Known: true}}
		}
		return r
	}
	tests := []struct {
		name    string
		small   float64
		large   float64
		verdict string
	}{
		{"flat", 3, 3, "PASS"},
		{"grows", 3, 30, "MISS"},
		{"nothing read at the smallest size", 0, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rows := browseRows([]browseResult{at(1000, tt.small), at(100000, tt.large)})
			// At each size the floor and a row per case, then the growth
			// rows and the two seedings.
			require.Len(t, rows, 2*(1+len(browseCases))+len(browseCases)+2)
			assert.Contains(t, rows[0].Name, "the floor, 1000 items")
			assert.Nil(t, rows[0].Budget, "the floor informs only")
			growth := rows[2*(1+len(browseCases))]
			assert.Contains(t, growth.Name, "per page at 100000 vs 1000 items")
			assert.Equal(t, tt.verdict, growth.Verdict())
		})
	}
}

func TestReadBudgetRow(t *testing.T) {
	t.Parallel()
	bc := browseCase{Name: "nothing matches", NoMatch: true}
	at := func(size int, scanned int32) browseResult {
		return browseResult{Size: size, Store: map[string]browseSample{bc.Name: {Cost: readCost{Scanned: scanned}}},
			Scan: map[string]browseSample{bc.Name: {Cost: readCost{Scanned: int32(size)}}}}
	}
	row := readBudgetRow(bc, []browseResult{at(1000, 37), at(100000, 500)})
	assert.Equal(t, "37 at 1000; 500 at 100000", row.Carrot)
	assert.Equal(t, "PASS", row.Verdict(), "a smaller partition at the smallest size is no growth")
	assert.Equal(t, "MISS", readBudgetRow(bc, []browseResult{at(1000, 37), at(100000, 501)}).Verdict())
}
