// Package serving runs Knative Services as OS processes on one machine,
// with Knative Serving's behaviour, for carrot's local runtime.
//
// LoadServices reads the Services of a folder (knative/services) into
// Knative's own API types, defaults and validates them with Knative's own
// code, and returns one Spec per function. New and Start run them; Handler
// is each function's entry point; Status reports; Close stops everything.
// Build compiles a function's ko:// import path.
//
// # Requests: activator and queue-proxy
//
// A request takes a slot on a ready instance, at most containerConcurrency
// per instance (unlimited when 0). The instance is the first one, by
// instance number, whose in-flight count is below the target; else the
// least busy one below containerConcurrency. Packing requests onto the
// first instances lets the extra ones fall idle and be stopped.
//
// Without a free slot the request waits in a first-come, first-served
// queue. The queue holds 10 requests per unit of containerConcurrency per
// live instance (starting, ready or unready; at least one), as Knative's
// queue-proxy does; containerConcurrency 0 counts as 100 units. Beyond
// the queue the request is answered 503 with Retry-After and a
// problem+json body at once. The function's timeout (timeoutSeconds)
// bounds the whole request: a request still queued when it passes gets
// 504, as does one whose instance has not answered by then.
//
// # Scaling: autoscaler
//
// Scaling is by concurrency, instantaneous rather than averaged over a
// window: whenever a request is queued, and every 100 ms, the function
// wants ceil((in flight + queued) / target) instances, within min-scale
// and max-scale (max-scale 0, unlimited, and every max-scale are capped by
// Options.MaxScaleLimit, 10 by default), and starts the missing ones.
// The target is Knative's: the target annotation capped at
// containerConcurrency (or containerConcurrency, or 100 when that is 0),
// times the 70% target utilization.
//
// An instance that served nothing for the idle grace (the window
// annotation, 60 s by default, or Options.IdleGrace) is stopped while more
// instances are live than wanted, newest first; with min-scale 0 the last
// one goes too: scale to zero. Stopping sends SIGTERM to the instance's
// process group, lets it drain, and sends SIGKILL after
// Options.StopTimeout. Min-scale instances start at Start and are kept.
//
// # Health: kubelet
//
// A new instance gets $PORT, its manifest's environment, K_SERVICE,
// K_CONFIGURATION and K_REVISION, and CARROT_LISTEN_HOST=127.0.0.1 (it
// must listen on loopback alone, where it is reached), and is probed for readiness every 25 ms
// until it answers; only then does it take requests. Afterwards readiness
// is probed every period: after failureThreshold failures the instance
// takes no new requests until it answers again. Liveness is probed every
// period; after failureThreshold failures, or when the process exits or
// is killed, the instance is discarded (counted as replaced) and a new one
// starts at once if queued requests, requests still in flight on the
// discarded one, or min-scale need it, otherwise with the next request.
// An instance discarded for liveness takes no new request but finishes
// those in flight before it gets SIGTERM; requests in flight on a process
// that died fail with 502. Instances that fail within 10 s of being ready
// delay the next start (0, then 250 ms doubling up to 5 s), and when a
// failure leaves no instance at all, queued requests get 503 with
// Retry-After at once instead of waiting.
//
// # Revisions and drills
//
// Every function starts at revision <name>-00001, which its instances see
// as K_REVISION. Rollout makes the next revision (optionally with changed
// environment), starts as many of its instances as the serving revision
// has live, and once all are ready moves all traffic to it at once; the
// old instances finish their requests in flight and stop. A revision that
// never gets ready is dropped and the old one keeps serving. SetOutage
// kills a function's instances and makes every start fail until it ends;
// Kill kills one instance.
//
// # Processes
//
// Each instance runs in its own process group with a parent-death signal
// (Linux), so instances die with a runtime that crashes, and Close stops
// every group. Each line an instance prints is copied to Options.Output
// behind a prefix naming the function and instance.
//
// # Code layout
//
// Each part above is a small type in its own file, without a lock of its
// own: queue.go holds the activator's router and the queue-proxy's queue,
// autoscaler.go the scaler, supervisor.go the supervisor with its start
// backoff and probe counters, revision.go the revisions and rollouts,
// instance.go an instance and the endpoint its proxy and probes share.
// function.go owns one Service's routing state and the mutex that guards
// it, and wires the parts; proxy.go is the HTTP side, controls.go the
// drills (Rollout, SetOutage).
package serving
