package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** serve with PEM files: HTTPS with a CA made at test time, a wrong CA refused, a reload picks up a new certificate. */
class TlsServerTest {

    static OkHttpClient trusting(Path caPem) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        try (InputStream in = Files.newInputStream(caPem)) {
            ks.setCertificateEntry("ca", (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        X509TrustManager tm = (X509TrustManager) tmf.getTrustManagers()[0];
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new javax.net.ssl.TrustManager[] {tm}, null);
        return new OkHttpClient.Builder().sslSocketFactory(ctx.getSocketFactory(), tm).build();
    }

    static int health(OkHttpClient client, String base) throws IOException {
        try (Response r = client.newCall(new Request.Builder().url(base + "/v1/health").build()).execute()) {
            return r.code();
        }
    }

    @Test
    void servesHttpsRefusesAWrongCaAndReloads(@TempDir Path dir) throws Exception {
        TestCertificates first = TestCertificates.create(dir.resolve("a"), "splitllm test CA A");
        TestCertificates second = TestCertificates.create(dir.resolve("b"), "splitllm test CA B");
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem");
        Files.copy(first.chainPem, cert);
        Files.copy(first.keyPem, key);
        ServerConfig c = ServerConfig.defaults(Set.of(ServerFixture.TOKEN)).withTls(new ServerConfig.TlsFiles(cert, key));
        try (ServerFixture fx = new ServerFixture(c)) {
            String base = fx.baseUrl();
            assertTrue(base.startsWith("https://127.0.0.1:"), base);
            assertEquals(200, health(trusting(first.caPem), base));
            assertThrows(SSLHandshakeException.class, () -> health(trusting(second.caPem), base), "a wrong CA is refused");
            assertThrows(IOException.class, () -> health(ServerFixture.HTTP, base), "the system trust store knows no test CA");

            // Renewal: new files, a reload (what SIGHUP does), and new connections see the new certificate.
            Files.copy(second.chainPem, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(second.keyPem, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            fx.server.reloadTls();
            assertEquals(200, health(trusting(second.caPem), base));

            // A broken file on reload keeps the working certificate.
            Files.writeString(key, "not a key");
            assertThrows(IllegalArgumentException.class, fx.server::reloadTls);
            assertEquals(200, health(trusting(second.caPem), base));
        }
    }

    @Test
    void badPemFilesFailAtStartWithTheReason(@TempDir Path dir) throws Exception {
        TestCertificates certs = TestCertificates.create(dir, "splitllm test CA");
        Path empty = Files.writeString(dir.resolve("empty.pem"), "");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PemTls.keyStore(new ServerConfig.TlsFiles(empty, certs.keyPem)));
        assertTrue(e.getMessage().contains("no BEGIN CERTIFICATE"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PemTls.keyStore(new ServerConfig.TlsFiles(certs.chainPem, certs.caPem)));
        assertTrue(e.getMessage().contains("no BEGIN PRIVATE KEY"), e.getMessage());
    }
}
