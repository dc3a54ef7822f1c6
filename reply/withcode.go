package reply

import "fmt"

// WithCode returns r with its basic code replaced, as Postfix's
// *_reject_code parameters change the code of a restriction's reply. The
// enhanced code's class follows the new code (450 with 5.1.8 becomes 4.1.8),
// and a catalog reply keeps its entry and arguments, so identification still
// finds it. Only 4xx and 5xx codes are accepted: a reject code must never
// turn a refusal into an acceptance.
func (r Reply) WithCode(code int) (Reply, error) {
	if code < 400 || code > 599 {
		return r, fmt.Errorf("%w: reject code %d is not 4xx or 5xx", ErrCode, code)
	}
	if r.code == 0 {
		return r, fmt.Errorf("%w: zero reply", ErrCode)
	}
	r.code = int16(code)
	if !r.enh.IsZero() {
		r.enh.Class = uint8(code / 100)
	}
	return r, nil
}
