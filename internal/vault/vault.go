// Package vault seals the few secrets sakk must read back (webhook signing
// secrets, gateway credentials, token signing keys) with AES-256-GCM under
// one installation key from configuration, so that a copy of the database
// alone reveals none of them.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of an installation key in bytes.
const KeySize = 32

// version prefixes every sealed value, so that a later format or key
// rotation can tell old values apart.
const version = "v1:"

// Box seals and opens values under one key.
type Box struct {
	aead cipher.AEAD
	key  []byte // kept only to derive the purpose keys of Derive
}

// New returns a Box for a key given as standard or URL-safe base64 of
// KeySize bytes.
func New(encodedKey string) (*Box, error) {
	key, err := decodeKey(strings.TrimSpace(encodedKey))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Box{aead: aead, key: key}, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("vault: the encryption key must be %d random bytes in base64 (e.g. from `openssl rand -base64 32`)", KeySize)
}

// Derive returns a key of n bytes for one purpose ("otp", "sandbox"),
// derived from the box's key with HKDF-SHA256: every instance sharing the
// encryption key derives the same keys, nothing more needs storing, and
// no derived key reveals the box's key or another purpose's key.
func (b *Box) Derive(purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, b.key, nil, "sakk "+purpose, n)
	if err != nil {
		panic("vault: derive: " + err.Error()) // only for n beyond 255*32 bytes
	}
	return k
}

// NewKey returns a fresh random key, base64-encoded.
func NewKey() string {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails: see crypto/rand.Read
	return base64.StdEncoding.EncodeToString(key)
}

// Seal encrypts plaintext; the result is printable text.
func (b *Box) Seal(plaintext string) string {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	rand.Read(nonce)
	sealed := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return version + base64.RawStdEncoding.EncodeToString(sealed)
}

// ErrOpen reports a value that was sealed under another key, or tampered
// with.
var ErrOpen = errors.New("vault: cannot open sealed value: wrong encryption key or damaged data")

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, version)
	if !ok {
		return "", ErrOpen
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}

// LoadOrCreateKeyFile reads the installation key kept in a file, creating
// the file with a new key (readable by its owner only) when it does not
// exist yet. It is the zero set-up default for the embedded store.
func LoadOrCreateKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("vault: read key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("vault: %w", err)
	}
	// Write the key to a temporary file, then link it into place: link
	// fails if the file exists, so when two processes race to create it,
	// one wins and the other reads the winner's complete key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return "", fmt.Errorf("vault: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	key := NewKey()
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		tmp.Close()
		return "", fmt.Errorf("vault: write key file: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return "", fmt.Errorf("vault: write key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return LoadOrCreateKeyFile(path)
	} else if err != nil {
		return "", fmt.Errorf("vault: create key file: %w", err)
	}
	return key, nil
}
