package dev.splitllm.edge;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Which certificate authorities the edge trusts for {@code https://} and {@code wss://}: the
 * system trust store (the default, a null {@code EdgeTrust} in {@link EdgeOptions}), or only the
 * CA certificates of a PEM file (a private CA, {@code --ca-cert FILE}). Android-safe: plain JSSE.
 */
public final class EdgeTrust {
    private final String source;
    private final X509TrustManager trustManager;
    private final SSLSocketFactory socketFactory;

    private EdgeTrust(String source, X509TrustManager trustManager, SSLSocketFactory socketFactory) {
        this.source = source;
        this.trustManager = trustManager;
        this.socketFactory = socketFactory;
    }

    /** Trusts exactly the certificates in a PEM file (one or more {@code BEGIN CERTIFICATE} blocks). */
    public static EdgeTrust fromPem(Path caFile) {
        if (caFile == null) throw new IllegalArgumentException("a CA certificate file is required");
        try (InputStream in = Files.newInputStream(caFile)) {
            if (Files.size(caFile) > (1 << 20)) throw new IllegalArgumentException(caFile + " is larger than 1 MiB; not a CA file");
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (certs.isEmpty()) throw new IllegalArgumentException(caFile + " holds no certificate");
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            int i = 0;
            for (Certificate c : certs) ks.setCertificateEntry("ca" + i++, c);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            X509TrustManager tm = null;
            for (TrustManager t : tmf.getTrustManagers()) if (t instanceof X509TrustManager x) tm = x;
            if (tm == null) throw new IllegalStateException("no X.509 trust manager on this platform");
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {tm}, null);
            return new EdgeTrust(caFile.toString(), tm, ctx.getSocketFactory());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read CA certificate " + caFile + ": " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("unusable CA certificate " + caFile + ": " + e.getMessage(), e);
        }
    }

    /** Where the trusted CAs come from, for messages. */
    public String source() {
        return source;
    }

    X509TrustManager trustManager() {
        return trustManager;
    }

    SSLSocketFactory socketFactory() {
        return socketFactory;
    }
}
