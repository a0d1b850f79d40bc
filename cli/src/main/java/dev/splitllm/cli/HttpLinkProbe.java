package dev.splitllm.cli;

import dev.splitllm.optimizer.profile.LinkProbe;
import dev.splitllm.optimizer.profile.LinkProfile;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

/**
 * Measures the link to a running cloud server with its {@code /v1/probe} endpoint: RTT from
 * empty round trips, uplink from timed uploads, downlink from timed downloads (medians of a
 * few transfers, each minus one RTT).
 */
final class HttpLinkProbe implements LinkProbe {
    private static final int PINGS = 7;
    private static final int TRANSFERS = 3;
    private final URI server;
    private final String token;
    private final String name;
    private final int bytes;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    HttpLinkProbe(URI server, String token, String name, int bytes) {
        this.server = server;
        this.token = token;
        this.name = name;
        this.bytes = bytes;
    }

    @Override
    public LinkProfile measure() throws IOException {
        double[] rtt = new double[PINGS];
        for (int i = 0; i < PINGS; i++) {
            rtt[i] = timed(get(0));
        }
        double rttMs = median(rtt);
        double[] up = new double[TRANSFERS];
        double[] down = new double[TRANSFERS];
        for (int i = 0; i < TRANSFERS; i++) {
            up[i] = bytes * 8.0 / (Math.max(0.05, timed(post()) - rttMs) / 1000);
            down[i] = bytes * 8.0 / (Math.max(0.05, timed(get(bytes)) - rttMs) / 1000);
        }
        return new LinkProfile(LinkProfile.SCHEMA, name, median(up), median(down), rttMs, "probe");
    }

    private HttpRequest get(int n) {
        return HttpRequest.newBuilder(server.resolve("/v1/probe?bytes=" + n)).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(60)).GET().build();
    }

    private HttpRequest post() {
        return HttpRequest.newBuilder(server.resolve("/v1/probe")).header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(new byte[bytes])).build();
    }

    private double timed(HttpRequest req) throws IOException {
        try {
            long t0 = System.nanoTime();
            HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            double ms = (System.nanoTime() - t0) / 1e6;
            if (r.statusCode() != 200) {
                throw new IOException("probe " + req.uri() + " answered HTTP " + r.statusCode() + ": "
                        + new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
            }
            return ms;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }
}
