package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Certificate generation for `orch tls ca create` and `orch tls cert
// create`: ECDSA P-256 keys, PEM files, named as Nomad names them
// (nomad-agent-ca.pem, global-server-nomad.pem, ...), so that Nomad's
// tutorials apply as they are.

// CAFileName and CAKeyFileName are the files `tls ca create` writes.
const (
	CAFileName    = "nomad-agent-ca.pem"
	CAKeyFileName = "nomad-agent-ca-key.pem"
)

// CertFileNames are the files `tls cert create` writes for role in region:
// "global-server-nomad.pem" and "global-server-nomad-key.pem".
func CertFileNames(role Role, region string) (cert, key string) {
	base := region + "-" + string(role) + "-" + DefaultDomain
	return base + ".pem", base + "-key.pem"
}

// PEM is a certificate and its private key, PEM-encoded.
type PEM struct {
	Cert []byte
	Key  []byte
}

// GenerateCA makes a self-signed CA valid for days from now.
func GenerateCA(days int, now time.Time) (PEM, error) {
	if days < 1 {
		return PEM{}, fmt.Errorf("tlsutil: -days = %d: must be >= 1", days)
	}
	key, serial, err := newKey()
	if err != nil {
		return PEM{}, err
	}
	ski, err := subjectKeyID(key.Public())
	if err != nil {
		return PEM{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "orch Agent CA " + serial.String(), Organization: []string{"orch"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return PEM{}, err
	}
	return encode(der, key)
}

// CertRequest asks for a certificate of Role in Region, signed by CA.
type CertRequest struct {
	CA     PEM
	Role   Role // RoleServer, RoleClient or RoleCLI
	Region string
	Days   int
	// DNSNames and IPs are added to the role's name, "localhost" and
	// 127.0.0.1 (for the HTTP API on the same host).
	DNSNames []string
	IPs      []net.IP
}

// GenerateCert makes the certificate of req. Servers and clients get both
// server and client authentication (servers dial each other, clients serve
// the HTTP API); the CLI only client authentication.
func GenerateCert(req CertRequest, now time.Time) (PEM, error) {
	var usages []x509.ExtKeyUsage
	switch req.Role {
	case RoleServer, RoleClient:
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case RoleCLI:
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return PEM{}, fmt.Errorf("tlsutil: role %q: must be server, client or cli", req.Role)
	}
	if req.Region == "" {
		return PEM{}, errors.New(`tlsutil: -region = "": must not be empty`)
	}
	if req.Days < 1 {
		return PEM{}, fmt.Errorf("tlsutil: -days = %d: must be >= 1", req.Days)
	}
	caCert, caKey, err := parseCA(req.CA)
	if err != nil {
		return PEM{}, err
	}
	key, serial, err := newKey()
	if err != nil {
		return PEM{}, err
	}
	name := RoleName(req.Role, req.Region, DefaultDomain)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.AddDate(0, 0, req.Days),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           usages,
		DNSNames:              append([]string{name, "localhost"}, req.DNSNames...),
		IPAddresses:           append([]net.IP{net.IPv4(127, 0, 0, 1)}, req.IPs...),
		AuthorityKeyId:        caCert.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return PEM{}, err
	}
	return encode(der, key)
}

// parseCA decodes a CA certificate and key as GenerateCA writes them.
func parseCA(ca PEM) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(ca.Cert)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("tlsutil: the CA file holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsutil: the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, errors.New("tlsutil: the CA file's certificate is not a CA")
	}
	kb, _ := pem.Decode(ca.Key)
	if kb == nil {
		return nil, nil, errors.New("tlsutil: the CA key file holds no PEM key")
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		if key, err = x509.ParseECPrivateKey(kb.Bytes); err != nil {
			return nil, nil, fmt.Errorf("tlsutil: the CA key: %w", err)
		}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("tlsutil: the CA key cannot sign")
	}
	return cert, signer, nil
}

func encode(der []byte, key *ecdsa.PrivateKey) (PEM, error) {
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return PEM{}, err
	}
	return PEM{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

// newKey makes the key and the random serial number of a new certificate.
func newKey() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	return key, serial, nil
}

// subjectKeyID is the SHA-256 (truncated to 20 bytes) of the public key.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}
