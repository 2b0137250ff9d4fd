package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoggerFormat checks that $CARROT_LOG_FORMAT alone chooses the
// format, and that a request line keeps its fields in each.
func TestLoggerFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		format  string
		console bool
		warns   bool // an unknown format says so, then writes JSON
	}{
		{format: ""},
		{format: LogFormatJSON},
		{format: LogFormatConsole, console: true},
		{format: "Console", warns: true},
		{format: "text", warns: true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			log := newLogger(&out, tt.format, "").With("function", "pay")
			r := httptest.NewRequest(http.MethodGet, "/items", nil)
			r.Header.Set(RequestIDHeader, "req-1")
			LogRequests(log)(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)

			lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
			if tt.warns {
				require.Len(t, lines, 2, "%s", out.String())
				assert.Contains(t, lines[0], "unknown log format")
				lines = lines[1:]
			}
			require.Len(t, lines, 1, "%s", out.String())
			if tt.console {
				assert.Regexp(t, `^\d\d:\d\d:\d\d\.\d{3}\tINFO\trequest\t\{`, lines[0])
				for _, field := range []string{`"function": "pay"`, `"method": "GET"`, `"path": "/items"`, `"status": 404`, `"duration": "`, `"requestId": "req-1"`} {
					assert.Contains(t, lines[0], field)
				}
				return
			}
			var line map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &line), "a JSON line: %s", lines[0])
			assert.Equal(t, "request", line["msg"])
			assert.Equal(t, "info", line["level"])
			assert.NotEmpty(t, line["time"])
			assert.Equal(t, "pay", line["function"])
			assert.Equal(t, "GET", line["method"])
			assert.Equal(t, "/items", line["path"])
			assert.EqualValues(t, http.StatusNotFound, line["status"])
			assert.NotEmpty(t, line["duration"])
			assert.Equal(t, "req-1", line["requestId"])
		})
	}
}

// TestNewLoggerCarriesNoField checks that a process's logger adds no key
// of its own, so that a field its caller logs is the only one of its name:
// the local runtime logs the function of each instance it starts.
func TestNewLoggerCarriesNoField(t *testing.T) {
	t.Parallel()
	for _, format := range []string{LogFormatJSON, LogFormatConsole} {
		var out bytes.Buffer
		newLogger(&out, format, "").Named("carrot").Infow("instance started", "function", "pay")
		assert.Equal(t, 1, strings.Count(out.String(), `"function"`), "%s", out.String())
	}
}
