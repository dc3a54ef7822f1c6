package smtpcheck

// Stages holds checks by the stage they run at: the shape in which check
// families hand their checks to a program, which appends them to its
// restriction lists and builds a Policy.
type Stages struct {
	Connect, Helo, Mail, Rcpt, Data, Headers, EndOfData []Check
}

// Append adds o's checks after s's, stage by stage.
func (s Stages) Append(o Stages) Stages {
	s.Connect = append(s.Connect, o.Connect...)
	s.Helo = append(s.Helo, o.Helo...)
	s.Mail = append(s.Mail, o.Mail...)
	s.Rcpt = append(s.Rcpt, o.Rcpt...)
	s.Data = append(s.Data, o.Data...)
	s.Headers = append(s.Headers, o.Headers...)
	s.EndOfData = append(s.EndOfData, o.EndOfData...)
	return s
}

// Policy returns a Policy whose stage checks are FirstMatch lists of s's
// checks (nil for an empty stage).
func (s Stages) Policy() *Policy {
	list := func(cs []Check) Check {
		if len(cs) == 0 {
			return nil
		}
		return FirstMatch(cs...)
	}
	return &Policy{
		Connect:   list(s.Connect),
		Helo:      list(s.Helo),
		Mail:      list(s.Mail),
		Rcpt:      list(s.Rcpt),
		Data:      list(s.Data),
		Headers:   list(s.Headers),
		EndOfData: list(s.EndOfData),
	}
}
