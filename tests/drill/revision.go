package drill

import (
	"github.com/carrot-market/carrot/infra/serving"
	"github.com/carrot-market/carrot/tests/system"
)

// revisions returns the revision each function serves, nil when the
// status shows none.
func revisions(st system.Status) map[string]string {
	out := make(map[string]string, len(st.Functions))
	for _, f := range st.Functions {
		if rev := functionRevision(f); rev != "" {
			out[f.Name] = rev
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// functionRevision is the revision that takes f's new requests.
func functionRevision(f serving.FunctionStatus) string { return f.Revision }

// instanceRevision is the revision inst runs.
func instanceRevision(inst serving.InstanceStatus) string { return inst.Revision }
