package web

import (
	"context"
	"os"

	cecontext "github.com/cloudevents/sdk-go/v2/context"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Logger returns the JSON logger of the function called name, writing to
// stderr at the level in $LOG_LEVEL (debug, info, warn, error; info when
// unset or unknown). Every line carries the field "function".
func Logger(name string) *zap.SugaredLogger {
	level := zapcore.InfoLevel
	if l, err := zapcore.ParseLevel(os.Getenv("LOG_LEVEL")); err == nil {
		level = l
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(os.Stderr), level)
	return zap.New(core).Sugar().With("function", name)
}

// WithLogger returns ctx carrying l. It shares its key with the CloudEvents
// SDK, so the SDK's own log lines go through l too.
func WithLogger(ctx context.Context, l *zap.SugaredLogger) context.Context {
	return cecontext.WithLogger(ctx, l)
}

// Log returns the logger ctx carries. Without one it is the SDK's fallback
// production logger, never nil, so a handler can always log.
func Log(ctx context.Context) *zap.SugaredLogger {
	return cecontext.LoggerFrom(ctx)
}
