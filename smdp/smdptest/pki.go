// Package smdptest is an SM-DP+ that speaks real GSMA ES2+ over real mutual
// TLS, for the portal's tests and for a newcomer's demo (`esim-admin
// smdp-fake`): the profile states of SGP.22 Figure 15 for the four functions
// the operator calls, exact field names checked, and switches for the ways
// a real one fails. It also sends handleDownloadProgressInfo to the portal
// as a phone's progress would.
package smdptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is a certificate authority of its own and the certificates ES2+
// needs on both sides, all signed by it, written as PEM files to Dir.
type PKI struct {
	Dir    string
	CAFile string // the CA: the portal's -smdp-ca and -es2-client-ca
	// The portal's client certificate (-smdp-cert, -smdp-key) and its ES2+
	// listener's server certificate (-es2-cert, -es2-key).
	PortalClientCert, PortalClientKey string
	PortalServerCert, PortalServerKey string
	// The SM-DP+'s own: its server certificate and the client certificate
	// it calls the portal with.
	SMDPServer tls.Certificate
	SMDPClient tls.Certificate
	Pool       *x509.CertPool

	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
}

// NewPKI makes a CA and the certificates in dir. Server certificates are
// for localhost, 127.0.0.1 and ::1 plus hosts.
func NewPKI(dir string, hosts ...string) (*PKI, error) {
	p := &PKI{Dir: dir, CAFile: filepath.Join(dir, "ca.pem")}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "SM-DP+ test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	p.caKey = key
	p.Pool = x509.NewCertPool()
	p.Pool.AddCert(p.ca)
	if err := writePEM(p.CAFile, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	hosts = append([]string{"localhost", "127.0.0.1", "::1"}, hosts...)
	if p.SMDPServer, err = p.issue("smdp-server", true, hosts); err != nil {
		return nil, err
	}
	if p.SMDPClient, err = p.issue("smdp-client", false, nil); err != nil {
		return nil, err
	}
	p.PortalClientCert, p.PortalClientKey = filepath.Join(dir, "portal-client.pem"), filepath.Join(dir, "portal-client-key.pem")
	if _, err := p.issueFiles("portal-client", false, nil, p.PortalClientCert, p.PortalClientKey); err != nil {
		return nil, err
	}
	p.PortalServerCert, p.PortalServerKey = filepath.Join(dir, "portal-es2.pem"), filepath.Join(dir, "portal-es2-key.pem")
	if _, err := p.issueFiles("portal-es2", true, hosts, p.PortalServerCert, p.PortalServerKey); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *PKI) issue(name string, server bool, hosts []string) (tls.Certificate, error) {
	return p.issueFiles(name, server, hosts, filepath.Join(p.Dir, name+".pem"), filepath.Join(p.Dir, name+"-key.pem"))
}

// issueFiles makes a certificate signed by the CA and writes it and its key.
func (p *PKI) issueFiles(name string, server bool, hosts []string, certFile, keyFile string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
		return tls.Certificate{}, err
	}
	if err := writePEM(keyFile, "EC PRIVATE KEY", keyDER); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

func writePEM(file, kind string, der []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("smdptest: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n
}
