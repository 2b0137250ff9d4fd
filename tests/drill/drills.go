package drill

import "context"

// Drill is one drill as the command and the tests run it.
type Drill struct {
	Name string
	// NeedsLocal is set on drills that drive the local runtime's controls
	// (/_local routes); Kubectl says what to do by hand on a cluster.
	NeedsLocal bool
	Kubectl    string
	Run        func(context.Context, *Env, Options) (*Report, error)
}

// All is every drill, in the order the command runs them.
var All = []Drill{
	{Name: "overload", Run: Overload},
	{Name: "autoscale", Run: Autoscale},
	{Name: "coldstart", NeedsLocal: true, Run: ColdStart,
		Kubectl: "time the first request after kubectl get pods -l serving.knative.dev/service=<fn> shows none"},
	{Name: "paymentdown", NeedsLocal: true, Run: PaymentDown,
		Kubectl: "kn service update pay --scale-max 0 ... --scale-max 3 (or break its image), and run the use cases meanwhile"},
	{Name: "brokerdown", NeedsLocal: true, Run: BrokerDown,
		Kubectl: "kubectl scale statefulset my-kafka-controller -n kafka --replicas=0, then back to 3"},
	{Name: "retry", NeedsLocal: true, Run: Retry,
		Kubectl: "kn service update mypage --scale-max 0 for a few seconds; kubectl get triggers; kcat -t carrot-dead-letters"},
	{Name: "faults", NeedsLocal: true, Run: Faults,
		Kubectl: "while deals run, kn service update <policy or mypage> --scale-max 0 for a minute, then the Kafka statefulset to 0 replicas for 30 s; after each, go run ./infra/deploy/cmd/check until it finds nothing"},
	{Name: "rollout", NeedsLocal: true, Run: Rollout,
		Kubectl: "kn service update register-item --env DRILL=$(date +%s) under load (siege -c5 on /items)"},
	{Name: "selfheal", NeedsLocal: true, Run: SelfHealing,
		Kubectl: "kubectl exec into a register-item pod and kill its process, or delete the pod, under load"},
}

// Find returns the drill called name.
func Find(name string) (Drill, bool) {
	for _, d := range All {
		if d.Name == name {
			return d, true
		}
	}
	return Drill{}, false
}

// RunOn runs d against e, or, when d needs the local runtime and e is not
// it, returns a report that says why it was skipped.
func (d Drill) RunOn(ctx context.Context, e *Env, opts Options) (*Report, error) {
	if d.NeedsLocal && !e.Local {
		return &Report{Name: d.Name, Skipped: "needs the local runtime's /_local routes (make drill); on a cluster: " + d.Kubectl}, nil
	}
	return d.Run(ctx, e, opts)
}
