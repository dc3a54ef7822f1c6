package storespec_test

import (
	"context"
	"fmt"

	"github.com/smtppolicy/smtppolicy/examples/internal/storespec"
)

func ExampleOpen() {
	s, err := storespec.Open(context.Background(), "memory:")
	if err != nil {
		panic(err)
	}
	defer s.Close()
	_, err = storespec.Open(context.Background(), "mysql://db")
	fmt.Println(err)
	// Output:
	// storespec: bad store spec: "mysql://db" (want memory:, bolt:PATH or redis://HOST:PORT/DB)
}
