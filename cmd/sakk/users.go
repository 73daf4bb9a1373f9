package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/sakkhq/sakk/internal/account"
	"github.com/sakkhq/sakk/internal/config"
	"github.com/sakkhq/sakk/internal/pay"
)

// usersCreate is `sakk users create`: how an operator makes a merchant's
// first owner (and the merchant, when named and new). The password comes
// from a file, never the command line, where other users and the shell's
// history would see it.
func usersCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var email, name, passwordFile, merchantName, merchantID, role string
	return admin(ctx, "users create", args, getenv, stdout, stderr, func(s *config.Set) {
		s.Flags().StringVar(&email, "email", "", "the user's email, which they sign in with (required)")
		s.Flags().StringVar(&name, "name", "", "the user's name")
		s.Flags().StringVar(&passwordFile, "password-file", "", `file holding the password (its first line; "-" for standard input) (required)`)
		s.Flags().StringVar(&merchantName, "merchant", "", "merchant name; created when no merchant has it")
		s.Flags().StringVar(&merchantID, "merchant-id", "", "an existing merchant's id (instead of --merchant)")
		s.Flags().StringVar(&role, "role", "owner", "owner, admin, developer, support or viewer")
	}, func(e *env) (any, []string, error) {
		if err := required(map[string]string{"email": email, "password-file": passwordFile}); err != nil {
			return nil, nil, err
		}
		if (merchantName == "") == (merchantID == "") {
			return nil, nil, usageError{"give one of --merchant and --merchant-id"}
		}
		password, err := readPasswordFile(passwordFile)
		if err != nil {
			return nil, nil, err
		}
		u, err := e.account.CreateUser(ctx, account.NewUser{Email: email, Name: name, Password: password, Role: pay.Role(role),
			MerchantName: merchantName, MerchantID: merchantID}, account.CLI)
		if err != nil {
			return nil, nil, err
		}
		out := struct {
			ID         string `json:"id"`
			Email      string `json:"email"`
			MerchantID string `json:"merchant_id"`
			Role       string `json:"role"`
		}{u.ID, u.Email, u.MerchantID, string(u.Role)}
		return out, []string{"Created user " + u.ID + " (" + u.Email + "), " + string(u.Role) + " of merchant " + u.MerchantID + "."}, nil
	})
}

// readPasswordFile reads the first line of a file, or of standard input
// for "-"; the line's end is not part of the password.
func readPasswordFile(name string) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", usageError{"--password-file: " + err.Error()}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}
