//go:build !linux

package servicetest

import (
	"context"
	"errors"
)

// StartPostgres needs Linux (child_other.go).
func StartPostgres(context.Context) (string, error) {
	return "", errors.New("starting a server for the tests needs Linux")
}
