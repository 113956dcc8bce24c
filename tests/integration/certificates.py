"""Throwaway certificates for the TLS tests, made with the openssl command-line tool."""
import os
import subprocess


def make_certificate(directory, name, names, key="ec"):
    """A self-signed certificate for `names` (subjectAltName DNS); returns (cert, key) paths.
    key: "ec" (P-256) or "rsa" (2048 bits)."""
    cert_path = os.path.join(directory, f"{name}.pem")
    key_path = os.path.join(directory, f"{name}.key")
    algorithm = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec"
                 else ["-newkey", "rsa:2048"])
    san = ",".join(f"DNS:{n}" for n in names)
    subprocess.run(["openssl", "req", "-x509", *algorithm, "-nodes", "-keyout", key_path,
                    "-out", cert_path, "-days", "2", "-subj", f"/CN={names[0]}",
                    "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)
    return cert_path, key_path


def insecure_client_context():
    """A TLS client context that accepts the throwaway certificates (tests only)."""
    import ssl
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
