package drill

import "github.com/carrot-market/carrot/infra/serving"

// revisions returns the revision each function serves.
func revisions(st Status) map[string]string {
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

// functionRevision is the revision f's traffic goes to.
func functionRevision(f serving.FunctionStatus) string {
	return ""
}

// instanceRevision is the revision inst runs.
func instanceRevision(inst serving.InstanceStatus) string {
	return ""
}
