package web

import (
	"context"
	"io"
	"os"

	cecontext "github.com/cloudevents/sdk-go/v2/context"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// RequestIDHeader carries the id the gateway gives every request
// (infra/gateway): the function receives it and the caller gets it back on
// the answer, so one request can be found in the logs of both.
const RequestIDHeader = "X-Request-Id"

// LogFormatEnv names the format of the log lines: "json", the default and
// what a cluster's log collector reads, one JSON object per line; or
// "console", tab-separated and readable, which `make run` sets. Nothing but
// this variable chooses the format.
const LogFormatEnv = "CARROT_LOG_FORMAT"

// Log formats of LogFormatEnv.
const (
	LogFormatJSON    = "json"
	LogFormatConsole = "console"
)

// NewLogger returns a process's logger, writing to stderr in the format of
// $CARROT_LOG_FORMAT at the level in $LOG_LEVEL (debug, info, warn, error;
// info when unset or unknown). It carries no field, so that each key of a
// line is added once: Logger adds the function's name, and the local
// runtime names its parts with Named. An unknown format writes JSON, after
// a line that says so.
func NewLogger() *zap.SugaredLogger {
	return newLogger(os.Stderr, os.Getenv(LogFormatEnv), os.Getenv("LOG_LEVEL"))
}

// Logger returns the logger of the function called name: NewLogger's,
// with the field "function" on every line.
func Logger(name string) *zap.SugaredLogger {
	return NewLogger().With("function", name)
}

func newLogger(w io.Writer, format, level string) *zap.SugaredLogger {
	lvl := zapcore.InfoLevel
	if l, err := zapcore.ParseLevel(level); err == nil {
		lvl = l
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "time"
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	encoder := zapcore.NewJSONEncoder(enc)
	if format == LogFormatConsole {
		enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		enc.EncodeDuration = zapcore.StringDurationEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	}
	log := zap.New(zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), lvl)).Sugar()
	if format != "" && format != LogFormatJSON && format != LogFormatConsole {
		log.Warnw("unknown log format; writing JSON", "format", format, "formats", []string{LogFormatJSON, LogFormatConsole})
	}
	return log
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
