package ops

import (
	"log/slog"
	"log/syslog"
	"strings"
)

// syslogSink sends each line to syslog, facility mail as Postfix logs,
// with the record's level as the priority.
type syslogSink struct{ w *syslog.Writer }

func (s *syslogSink) writeLine(level slog.Level, line []byte) error {
	msg := strings.TrimSuffix(string(line), "\n")
	switch {
	case level >= slog.LevelError:
		return s.w.Err(msg)
	case level >= slog.LevelWarn:
		return s.w.Warning(msg)
	case level >= slog.LevelInfo:
		return s.w.Info(msg)
	}
	return s.w.Debug(msg)
}

// NewSyslogHandler returns a Handler that logs to syslog as tag, facility
// mail: to the local syslog socket when socket is "", else to the unix
// datagram socket at that path.
func NewSyslogHandler(socket, tag string, cfg LogConfig) (*Handler, func() error, error) {
	var w *syslog.Writer
	var err error
	if socket == "" {
		w, err = syslog.New(syslog.LOG_MAIL|syslog.LOG_INFO, tag)
	} else {
		w, err = syslog.Dial("unixgram", socket, syslog.LOG_MAIL|syslog.LOG_INFO, tag)
	}
	if err != nil {
		return nil, nil, err
	}
	return newHandler(&syslogSink{w}, cfg), w.Close, nil
}
