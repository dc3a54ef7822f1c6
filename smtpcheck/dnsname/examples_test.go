package dnsname_test

import (
	"fmt"

	"github.com/smtppolicy/smtppolicy/smtpcheck/dnsname"
)

func ExampleToASCII() {
	name, err := dnsname.ToASCII("Bücher.Example.")
	fmt.Println(name, err, dnsname.Valid(name))
	// Output: xn--bcher-kva.example <nil> true
}

func ExampleValid() {
	fmt.Println(dnsname.Valid("_dmarc.example.org"), dnsname.Valid("a..example"))
	// Output: true false
}
