package reply

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		in        string
		class     Class
		retryable bool
		mismatch  bool
	}{
		{"250 2.0.0 Ok", ClassPositive, false, false},
		{"354 End data with <CR><LF>.<CR><LF>", ClassIntermediate, false, false},
		{"451 4.7.1 try again later", ClassTransient, true, false},
		{"550 5.7.1 denied", ClassPermanent, false, false},
		{"550 4.7.1 mixed", ClassPermanent, false, true},
		{"451 5.7.1 mixed", ClassTransient, true, true},
		{"550 no enhanced code", ClassPermanent, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := Classify(MustParse(tt.in))
			if c.Class != tt.class || c.Retryable != tt.retryable || c.Mismatch != tt.mismatch {
				t.Errorf("Classify(%q) = %+v, want class %v retryable %v mismatch %v", tt.in, c, tt.class, tt.retryable, tt.mismatch)
			}
			if c.Advice() == "" {
				t.Errorf("Classify(%q).Advice() is empty", tt.in)
			}
		})
	}
}

// ClassOf still names the 1xx class that some clients show for a failed
// connection (101, 111), although Parse refuses such a reply from a server.
func TestClassOfPreliminary(t *testing.T) {
	if c := ClassOf(111); c != ClassPreliminary {
		t.Errorf("ClassOf(111) = %v, want %v", c, ClassPreliminary)
	}
	if c := (Classification{Class: ClassPreliminary, Retryable: true}); c.Advice() == "" {
		t.Errorf("Advice of the preliminary class is empty")
	}
}

// TestLookupCodeGuides checks every basic code the seeds' code guides
// explain has its own entry, with advice.
func TestLookupCodeGuides(t *testing.T) {
	codes := []int{101, 111, 211, 214, 220, 221, 235, 250, 251, 252, 354, 400, 420, 421, 422, 431, 432, 441, 442, 444,
		446, 447, 449, 450, 451, 452, 454, 458, 471, 500, 501, 502, 503, 504, 510, 511, 512, 513, 521, 523, 530,
		535, 541, 550, 551, 552, 553, 554, 556}
	for _, c := range codes {
		info, ok := LookupCode(c)
		if !ok || info.Meaning == "" || info.Advice == "" {
			t.Errorf("LookupCode(%d) = %+v, %v, want an entry with meaning and advice", c, info, ok)
		}
	}
	for i := 1; i < len(basicCodes); i++ {
		if basicCodes[i-1].Code >= basicCodes[i].Code {
			t.Fatalf("basicCodes not sorted at %d", basicCodes[i].Code)
		}
	}
	if info, ok := LookupCode(599); ok || info.Advice == "" {
		t.Errorf("LookupCode(599) = %+v, %v, want the 5xx class explanation, false", info, ok)
	}
}

// TestLookupCodeCatalog checks every catalog entry's codes are explained.
func TestLookupCodeCatalog(t *testing.T) {
	for _, e := range Catalog() {
		if _, ok := LookupCode(e.Code); !ok {
			t.Errorf("LookupCode(%d) for %s: no entry", e.Code, e.Name)
		}
		if !e.Enhanced.IsZero() {
			if _, ok := LookupEnhanced(e.Enhanced); !ok {
				t.Errorf("LookupEnhanced(%s) for %s: not registered", e.Enhanced, e.Name)
			}
		}
	}
}

func TestLookupEnhanced(t *testing.T) {
	tests := []struct {
		in    string
		title string
		ok    bool
	}{
		{"5.7.23", "SPF validation failed", true},
		{"4.7.24", "SPF validation error", true},
		{"5.7.27", "Sender address has null MX", true},
		{"5.7.8", "Authentication credentials invalid", true},
		{"5.5.6", "Authentication Exchange line is too long", true},
		{"5.6.7", "Non-ASCII addresses not permitted for that sender/recipient", true},
		{"5.1.10", "Recipient address has null MX", true},
		{"4.7.25", "Reverse DNS validation failed", true},
		{"5.7.26", "Multiple authentication checks failed", true},
		{"5.7.99", "Other or undefined security status", false},
		{"5.9.9", "Other undefined status", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseEnhanced(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			info, ok := LookupEnhanced(e)
			if info.Title != tt.title || ok != tt.ok {
				t.Errorf("LookupEnhanced(%s) = %q, %v, want %q, %v", tt.in, info.Title, ok, tt.title, tt.ok)
			}
			if info.Advice == "" || info.RFC == "" {
				t.Errorf("LookupEnhanced(%s) lacks advice or RFC", tt.in)
			}
		})
	}
	for _, s := range EnhancedRegistry() {
		if s.Title == "" || s.Advice == "" {
			t.Errorf("registry %s incomplete", s.Code())
		}
	}
}

func TestExplainText(t *testing.T) {
	x, err := ExplainText("550 5.7.1 recipient <bob@example.org> relaying denied\r\n")
	if err != nil {
		t.Fatal(err)
	}
	out := x.String()
	for _, want := range []string{"permanent, not retryable", "Delivery not authorized", "RelayDenied", "smtpf#288 smtpf#293 smtpf#296", `rcpt="bob@example.org"`} {
		if !strings.Contains(out, want) {
			t.Errorf("ExplainText(...).String() lacks %q:\n%s", want, out)
		}
	}
	x, err = ExplainText("550 4.7.1 odd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(x.String(), "mismatch") {
		t.Errorf("ExplainText(550 4.7.1) does not report the class mismatch:\n%s", x)
	}
	x, err = ExplainText("Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org")
	if err != nil || len(x.Matches) == 0 || x.Matches[0].Entry.Name != "DNSBLBlocked" {
		t.Errorf("ExplainText(DSN diagnostic) = %v, %v, want DNSBLBlocked", x.Matches, err)
	}
	if _, err := ExplainText("not a reply"); err == nil {
		t.Errorf("ExplainText(not a reply) error = nil")
	}
}
