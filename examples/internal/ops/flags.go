package ops

import (
	"flag"
	"io"
	"log/slog"
)

// LogFlags are the logging flags both programs take.
type LogFlags struct {
	Format       string
	Syslog       bool
	SyslogSocket string
}

// AddLogFlags registers -log-format, -syslog and -syslog-socket on fs.
func AddLogFlags(fs *flag.FlagSet) *LogFlags {
	f := &LogFlags{}
	fs.StringVar(&f.Format, "log-format", string(FormatPostfix), "log line shape: postfix (one Postfix- or postgrey-style line per verdict; the library's records at debug level with -v), text (the library's key=value records, plus a short verdict record) or json")
	fs.BoolVar(&f.Syslog, "syslog", false, "log to syslog (facility mail) instead of standard error")
	fs.StringVar(&f.SyslogSocket, "syslog-socket", "", "with -syslog, the syslog daemon's unix datagram socket (default: the system's, /dev/log)")
	return f
}

// Logger makes the program's logger from the flags; close flushes and
// closes a syslog connection.
func (f *LogFlags) Logger(stderr io.Writer, tag string, cfg LogConfig) (logger *slog.Logger, close func() error, err error) {
	format, err := ParseFormat(f.Format)
	if err != nil {
		return nil, nil, err
	}
	cfg.Format = format
	if !f.Syslog {
		return slog.New(NewHandler(stderr, cfg)), func() error { return nil }, nil
	}
	h, closeFn, err := NewSyslogHandler(f.SyslogSocket, tag, cfg)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(h), closeFn, nil
}
