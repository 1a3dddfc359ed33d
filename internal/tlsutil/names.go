package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
)

// Role is what a certificate says its holder is, by its DNS names.
type Role string

const (
	RoleServer Role = "server"
	RoleClient Role = "client"
	RoleCLI    Role = "cli"
	// RoleOther is a certificate signed by the CA that names no agent role
	// of the region.
	RoleOther Role = "other"
)

// Domains are the domains of the role names orch accepts: Nomad's, so that
// certificates made for a Nomad cluster work, and orch's own.
var Domains = []string{"nomad", "orch"}

// DefaultDomain is the domain of the certificates orch generates.
const DefaultDomain = "nomad"

// RoleName is the DNS name a certificate of role in region carries:
// "server.global.nomad".
func RoleName(role Role, region, domain string) string {
	return string(role) + "." + region + "." + domain
}

// ServerName is the name servers of region present: server.<region>.nomad.
func ServerName(region string) string { return RoleName(RoleServer, region, DefaultDomain) }

// namesServer reports whether cert names a server of region, in any of
// Domains.
func namesServer(cert *x509.Certificate, region string) bool {
	return namesRole(cert, RoleServer, region)
}

func namesRole(cert *x509.Certificate, role Role, region string) bool {
	for _, d := range Domains {
		if cert.VerifyHostname(RoleName(role, region, d)) == nil {
			return true
		}
	}
	return false
}

// PeerRole is the role the verified peer certificate of cs names in
// region: RoleServer, RoleClient or RoleCLI, else RoleOther (also for a
// connection without a peer certificate).
func PeerRole(cs tls.ConnectionState, region string) Role {
	if len(cs.PeerCertificates) == 0 {
		return RoleOther
	}
	leaf := cs.PeerCertificates[0]
	for _, r := range []Role{RoleServer, RoleClient, RoleCLI} {
		if namesRole(leaf, r, region) {
			return r
		}
	}
	return RoleOther
}

// certNames lists the names a certificate carries, for error messages.
func certNames(cert *x509.Certificate) []string {
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && cert.Subject.CommonName != "" {
		names = append(names, cert.Subject.CommonName)
	}
	return names
}
