package dev.splitllm.cloud;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away CA and a server certificate it signed, made at test time (no certificate is
 * checked in): PEM files as an operator gets them, {@code ca.pem}, {@code fullchain.pem} (server
 * then CA) and {@code key.pem} (PKCS#8), for {@code localhost} and {@code 127.0.0.1}.
 */
public final class TestCertificates {
    public final Path caPem;
    public final Path chainPem;
    public final Path keyPem;

    private TestCertificates(Path caPem, Path chainPem, Path keyPem) {
        this.caPem = caPem;
        this.chainPem = chainPem;
        this.keyPem = keyPem;
    }

    /** A new CA named {@code caName} and a server certificate signed by it, written into {@code dir}. */
    public static TestCertificates create(Path dir, String caName) throws IOException, GeneralSecurityException {
        try {
            KeyPair caKeys = ecKeys();
            X500Name ca = new X500Name("CN=" + caName);
            long now = System.currentTimeMillis();
            Date from = new Date(now - 60_000), to = new Date(now + 24L * 3600_000);
            X509v3CertificateBuilder caB = new JcaX509v3CertificateBuilder(ca, BigInteger.ONE, from, to, ca, caKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate caCert = sign(caB, caKeys);

            KeyPair serverKeys = ecKeys();
            X509v3CertificateBuilder sB = new JcaX509v3CertificateBuilder(ca, BigInteger.TWO, from, to,
                    new X500Name("CN=localhost"), serverKeys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName[] {
                            new GeneralName(GeneralName.dNSName, "localhost"),
                            new GeneralName(GeneralName.iPAddress, "127.0.0.1")}));
            X509Certificate serverCert = sign(sB, caKeys);

            Files.createDirectories(dir);
            Path caPem = dir.resolve("ca.pem"), chain = dir.resolve("fullchain.pem"), key = dir.resolve("key.pem");
            Files.writeString(caPem, pem("CERTIFICATE", caCert.getEncoded()), StandardCharsets.US_ASCII);
            Files.writeString(chain, pem("CERTIFICATE", serverCert.getEncoded()) + pem("CERTIFICATE", caCert.getEncoded()),
                    StandardCharsets.US_ASCII);
            Files.writeString(key, pem("PRIVATE KEY", serverKeys.getPrivate().getEncoded()), StandardCharsets.US_ASCII);
            return new TestCertificates(caPem, chain, key);
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair ecKeys() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer)
            throws OperatorCreationException, GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    }

    static String pem(String kind, byte[] der) {
        return "-----BEGIN " + kind + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + kind + "-----\n";
    }
}
