package dev.splitllm.cloud;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The server's TLS identity from PEM files as a CA or an ACME client hands them out: a
 * certificate chain ({@code fullchain.pem}) and an unencrypted private key, PKCS#8
 * ({@code BEGIN PRIVATE KEY}) or PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}).
 */
final class PemTls {
    /** PEM files are small; anything larger is not one. */
    private static final long MAX_PEM_BYTES = 1 << 20;
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    /** The in-memory key store's password: never leaves this process. */
    private static final char[] STORE_PASSWORD = "splitllm".toCharArray();

    private PemTls() {}

    /** A Jetty server-side TLS factory for these files (TLS 1.2 and 1.3 only). */
    static SslContextFactory.Server contextFactory(ServerConfig.TlsFiles files) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setKeyStore(keyStore(files));
        ssl.setKeyStorePassword(new String(STORE_PASSWORD));
        ssl.setIncludeProtocols("TLSv1.3", "TLSv1.2");
        return ssl;
    }

    /** Reads both files again into a key store; throws IllegalArgumentException with the reason. */
    static KeyStore keyStore(ServerConfig.TlsFiles files) {
        try {
            List<X509Certificate> chain = certificates(read(files.certificate()), files.certificate());
            PrivateKey key = privateKey(read(files.privateKey()), files.privateKey(), chain.get(0).getPublicKey().getAlgorithm());
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("server", key, STORE_PASSWORD, chain.toArray(new Certificate[0]));
            return ks;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read TLS file: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("unusable TLS certificate or key: " + e.getMessage(), e);
        }
    }

    private static String read(Path p) throws IOException {
        if (Files.size(p) > MAX_PEM_BYTES) throw new IOException(p + " is larger than 1 MiB; not a PEM file");
        return Files.readString(p, StandardCharsets.US_ASCII);
    }

    static List<X509Certificate> certificates(String pem, Path where) throws GeneralSecurityException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(decode(m.group(2)))));
            }
        }
        if (out.isEmpty()) throw new GeneralSecurityException(where + " holds no BEGIN CERTIFICATE block");
        return out;
    }

    private static PrivateKey privateKey(String pem, Path where, String algorithm) throws GeneralSecurityException {
        Matcher m = BLOCK.matcher(pem);
        while (m.find()) {
            String kind = m.group(1);
            byte[] der = decode(m.group(2));
            switch (kind) {
                case "PRIVATE KEY":
                    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                case "RSA PRIVATE KEY":
                    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(rsaPkcs1ToPkcs8(der)));
                case "ENCRYPTED PRIVATE KEY":
                    throw new GeneralSecurityException(where + " is encrypted; decrypt it first: openssl pkcs8 -in "
                            + where + " -out key.pem");
                case "EC PRIVATE KEY":
                    throw new GeneralSecurityException(where + " is a SEC1 EC key; convert it to PKCS#8: openssl pkcs8 -topk8"
                            + " -nocrypt -in " + where + " -out key.pem");
                default:
                    // e.g. EC PARAMETERS before the key: skip
            }
        }
        throw new GeneralSecurityException(where + " holds no BEGIN PRIVATE KEY block");
    }

    private static byte[] decode(String base64) {
        return Base64.getMimeDecoder().decode(base64.trim());
    }

    /** Wraps a PKCS#1 RSAPrivateKey in a PKCS#8 PrivateKeyInfo (version 0, rsaEncryption, NULL). */
    static byte[] rsaPkcs1ToPkcs8(byte[] pkcs1) {
        byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
        byte[] version = {0x02, 0x01, 0x00};
        byte[] octets = der(0x04, pkcs1);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(version);
        body.writeBytes(algorithm);
        body.writeBytes(octets);
        return der(0x30, body.toByteArray());
    }

    private static byte[] der(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else if (n < 0x100) {
            out.write(0x81);
            out.write(n);
        } else if (n < 0x10000) {
            out.write(0x82);
            out.write(n >> 8);
            out.write(n);
        } else {
            out.write(0x83);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }
}
