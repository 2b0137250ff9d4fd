package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// capacityStep is the use case whose writes measurement 4 sends.
const capacityStep = "register item"

// load is the rate measurement 4 runs at and where it comes from.
type load struct {
	Rate int
	// Share of Capacity, the raw rate of the same writes on this machine
	// in this run; both zero when -rate fixed the rate.
	Share, Capacity float64
}

// String says where the rate comes from, for the results table.
func (l load) String() string {
	if l.Capacity == 0 {
		return "fixed by -rate"
	}
	return fmt.Sprintf("%.0f%% of the raw capacity of its writes, %.0f/s in this run", 100*l.Share, l.Capacity)
}

// eventLoad decides measurement 4's rate: c.eventRate when set, else
// c.eventShare of the raw capacity of the same writes. That capacity is
// measurement 1's raw rate of all the storage work a registered item
// causes (its own calls and the MyPage projector's) when measurement 1
// ran; otherwise the same replay runs here, c.deals items with c.workers
// workers, straight on DynamoDB.
func eventLoad(ctx context.Context, c config, ddb *dynamodb.Client, capPrefix string, uc map[string]stepResult) (load, error) {
	if c.eventRate > 0 {
		return load{Rate: c.eventRate}, nil
	}
	if c.eventShare <= 0 || c.eventShare > 1 {
		return load{}, fmt.Errorf("-share %v is not a share between 0 and 1", c.eventShare)
	}
	capacity := uc[capacityStep].RawAll.Rate
	if capacity == 0 {
		capt, err := captureDeal(ctx, ddb, capPrefix)
		if err != nil {
			return load{}, err
		}
		maps := make([]map[string]string, c.deals)
		for i := range maps {
			maps[i] = map[string]string{}
		}
		progress("4 raw DynamoDB capacity: " + capacityStep)
		raw, _ := replay(ctx, ddb, "raw capacity "+capacityStep, c.deals, c.workers, maps, capt.Own[capacityStep], capt.FollowOn[capacityStep])
		capacity = raw.Rate
	}
	if capacity <= 0 {
		return load{}, fmt.Errorf("the raw capacity of %s could not be measured", capacityStep)
	}
	return load{Rate: max(1, int(c.eventShare*capacity)), Share: c.eventShare, Capacity: capacity}, nil
}
