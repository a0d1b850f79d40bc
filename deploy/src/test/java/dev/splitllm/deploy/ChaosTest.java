package dev.splitllm.deploy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.splitllm.edge.EdgeModel;
import dev.splitllm.edge.EdgeOptions;
import dev.splitllm.edge.EdgeSession;
import dev.splitllm.edge.Failover;
import dev.splitllm.edge.GenerationResult;
import dev.splitllm.fetch.ModelStore;
import dev.splitllm.quantization.codec.CodecSpec;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chaos test: 3 real {@code serve} processes behind a real nginx with deploy/nginx/splitllm.conf,
 * 12 concurrent sessions (greedy and seeded sampling, fp32 and the default TAB-Q codec); one
 * replica gets {@code kill -9} mid-generation (then, restarted, another gets SIGTERM and drains).
 * Every session completes with the token stream of the unfaulted run. Bounded: 48 tokens per
 * session, every wait has a deadline, every process is ended by its handle. Runs with
 * {@code -Dsplitllm.chaos=true} (scripts/chaos.sh), and needs nginx.
 */
class ChaosTest {
    static final String TOKEN = "chaos-token-1";
    static final int SESSIONS = 12;
    static final int REPLICAS = 3;
    static final int TOKENS = 48;
    static final int FAULT_AT = 12;
    static final String[] PROMPTS = {"Once upon a time", "The little dog", "Lily and Tom went", "One day, a bird"};
    static final Path WORK = Paths.get("target", "chaos").toAbsolutePath();

    static final Process[] replicas = new Process[REPLICAS];
    static final int[] ports = new int[REPLICAS];
    static Process nginx;
    static int nginxPort;
    static final List<EdgeModel> models = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("splitllm.chaos"),
                "chaos test runs with -Dsplitllm.chaos=true (scripts/chaos.sh); it starts 3 JVMs and nginx");
        Path nginxBin = Nginx.find();
        Assumptions.assumeTrue(nginxBin != null, "nginx is not installed (apt-get install -y nginx-light); chaos test skipped");
        Files.createDirectories(WORK);
        Files.writeString(WORK.resolve("tokens"), TOKEN + "\n");
        for (int i = 0; i < REPLICAS; i++) ports[i] = freePort();
        for (int i = 0; i < REPLICAS; i++) replicas[i] = startReplica(i);
        for (int i = 0; i < REPLICAS; i++) awaitHealth(ports[i], replicas[i], 120);
        nginxPort = freePort();
        nginx = Nginx.start(nginxBin, WORK.resolve("nginx"), nginxPort, ports);
        awaitHealth(nginxPort, nginx, 20);
        Path dir = ModelStore.stories15MDir();
        for (int i = 0; i < SESSIONS; i++) models.add(EdgeModel.load(dir.resolve("stories15M.bin"), dir.resolve("tokenizer.bin"), 3, 1));
    }

    @AfterAll
    static void stop() throws Exception {
        for (EdgeModel m : models) m.close();
        for (Process p : replicas) if (p != null) p.destroyForcibly();
        if (nginx != null) nginx.destroy(); // SIGTERM: nginx exits at once
        for (Process p : replicas) if (p != null) p.waitFor(10, TimeUnit.SECONDS);
        if (nginx != null && !nginx.waitFor(5, TimeUnit.SECONDS)) nginx.destroyForcibly();
    }

    static Process startReplica(int i) throws IOException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-Dai.djl.offline=true", "-Xss8m",
                "-Xmx1g", "-cp", cliClassPath(), "dev.splitllm.cli.Main", "serve", "--host", "127.0.0.1",
                "--port", String.valueOf(ports[i]), "--token-file", WORK.resolve("tokens").toString(), "--drain-timeout", "5s",
                "--cloud-weights", "f32", "--threads", "1");
        pb.environment().remove("SPLITLLM_TOKENS");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.redirectErrorStream(true).redirectOutput(WORK.resolve("replica-" + i + ".log").toFile());
        return pb.start();
    }

    /** The CLI as ./splitllm runs it: cli/target/splitllm-cli.jar and its lib folder (built by mvn package/install of cli). */
    static String cliClassPath() {
        Path cli = Paths.get("..", "cli", "target").toAbsolutePath().normalize();
        if (!Files.isRegularFile(cli.resolve("splitllm-cli.jar"))) {
            throw new IllegalStateException("build the CLI first: mvn -pl cli -am package -DskipTests (no " + cli + "/splitllm-cli.jar)");
        }
        return cli.resolve("splitllm-cli.jar") + java.io.File.pathSeparator + cli.resolve("lib") + "/*";
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static int health(int port) {
        try {
            HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/v1/health").openConnection();
            c.setConnectTimeout(1000);
            c.setReadTimeout(2000);
            return c.getResponseCode();
        } catch (IOException e) {
            return 0;
        }
    }

    static void awaitHealth(int port, Process p, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (health(port) != 200) {
            if (!p.isAlive()) throw new IllegalStateException("process for port " + port + " exited; see " + WORK);
            if (System.nanoTime() > deadline) throw new IllegalStateException("port " + port + " not healthy after " + seconds + " s");
            Thread.sleep(250);
        }
    }

    /** Which replica holds the session: the one that answers its status (GET straight to each replica). */
    static int ownerOf(String sessionId) {
        for (int i = 0; i < REPLICAS; i++) {
            try {
                HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + ports[i] + "/v1/sessions/" + sessionId)
                        .openConnection();
                c.setRequestProperty("Authorization", "Bearer " + TOKEN);
                c.setConnectTimeout(1000);
                if (c.getResponseCode() == 200) return i;
            } catch (IOException e) {
                // a dead replica holds nothing
            }
        }
        return -1;
    }

    static EdgeOptions options(int i) {
        EdgeOptions o = EdgeOptions.defaults(URI.create("http://127.0.0.1:" + nginxPort), TOKEN).withMaxSeqLen(96)
                .withDeadlines(Duration.ofSeconds(20), Duration.ofSeconds(90));
        if (i % 2 == 1) o = o.withSampling(0.9f, 0.9f, 1000 + i); // seeded sampling
        if ((i / 2) % 2 == 1) o = o.withCodec(CodecSpec.parse("tabq:eps=0.001,bits=2/3/4/6/8")); // the default codec
        return o;
    }

    /** One run of all sessions; {@code fault} runs once every session has FAULT_AT tokens, with the owner counts. */
    record Run(int[][] tokens, int[] perReplica, List<Failover> failovers) {
    }

    interface Fault {
        void inject(int[] perReplica) throws Exception;
    }

    static Run run(Fault fault) throws Exception {
        List<EdgeSession> sessions = new ArrayList<>();
        int[] perReplica = new int[REPLICAS];
        try {
            for (int attempt = 0; attempt < 5; attempt++) { // ids are random: re-draw until every replica holds a session
                for (EdgeSession s : sessions) s.close();
                sessions.clear();
                java.util.Arrays.fill(perReplica, 0);
                for (int i = 0; i < SESSIONS; i++) {
                    EdgeSession s = EdgeSession.open(models.get(i), options(i));
                    sessions.add(s);
                    int owner = ownerOf(s.sessionId());
                    assertTrue(owner >= 0, "session " + s.sessionId() + " is on no replica");
                    perReplica[owner]++;
                }
                if (java.util.Arrays.stream(perReplica).allMatch(n -> n > 0)) break;
            }
            CountDownLatch midway = new CountDownLatch(SESSIONS);
            // With a fault, every session waits at token FAULT_AT until the fault has taken effect
            // (the replica is dead, or drained and gone): otherwise a fast run may finish its
            // sessions before a drain reaches them, and nothing would have been tested.
            CountDownLatch resume = new CountDownLatch(fault == null ? 0 : 1);
            ExecutorService pool = Executors.newFixedThreadPool(SESSIONS);
            try {
                List<Future<int[]>> futures = new ArrayList<>();
                for (int i = 0; i < SESSIONS; i++) {
                    EdgeSession s = sessions.get(i);
                    String prompt = PROMPTS[i % PROMPTS.length];
                    futures.add(pool.submit(() -> {
                        int[] n = {0};
                        GenerationResult r = s.generate(prompt, TOKENS, (id, text, st) -> {
                            if (++n[0] == FAULT_AT) {
                                midway.countDown();
                                try {
                                    if (!resume.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("the fault never took effect");
                                } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                    throw new IllegalStateException(e);
                                }
                            }
                        });
                        if (n[0] < FAULT_AT) midway.countDown(); // stopped early (EOS)
                        return r.tokens();
                    }));
                }
                if (fault != null) {
                    assertTrue(midway.await(120, TimeUnit.SECONDS), "sessions did not reach token " + FAULT_AT);
                    try {
                        fault.inject(perReplica.clone());
                    } finally {
                        resume.countDown();
                    }
                }
                int[][] tokens = new int[SESSIONS][];
                for (int i = 0; i < SESSIONS; i++) tokens[i] = futures.get(i).get(180, TimeUnit.SECONDS);
                List<Failover> failovers = new ArrayList<>();
                for (EdgeSession s : sessions) failovers.addAll(s.failovers());
                return new Run(tokens, perReplica, failovers);
            } finally {
                pool.shutdownNow();
            }
        } finally {
            for (EdgeSession s : sessions) s.close();
        }
    }

    static int busiest(int[] perReplica) {
        int best = 0;
        for (int i = 1; i < perReplica.length; i++) if (perReplica[i] > perReplica[best]) best = i;
        return best;
    }

    @Test
    void killAndDrainLoseNoToken() throws Exception {
        Run reference = run(null);
        System.out.printf("reference run: sessions per replica %s%n", java.util.Arrays.toString(reference.perReplica()));

        int[] killed = {-1};
        Run kill = run(per -> {
            killed[0] = busiest(per);
            replicas[killed[0]].destroyForcibly(); // SIGKILL: kill -9
            replicas[killed[0]].waitFor(10, TimeUnit.SECONDS);
        });
        int identical = report("kill -9", reference, kill, killed[0]);
        assertEquals(SESSIONS, identical, "every token stream equals the unfaulted run after kill -9");
        assertEquals(kill.perReplica()[killed[0]], kill.failovers().size(), "each session of the killed replica failed over once");

        replicas[killed[0]] = startReplica(killed[0]); // back to 3 replicas for the drain
        awaitHealth(ports[killed[0]], replicas[killed[0]], 120);
        Thread.sleep(10_500); // nginx's fail_timeout: the restarted replica is routed to again

        int[] drained = {-1};
        Run drain = run(per -> {
            drained[0] = busiest(per);
            replicas[drained[0]].destroy(); // SIGTERM: serve drains
            replicas[drained[0]].waitFor(30, TimeUnit.SECONDS); // drained and gone before the sessions go on
        });
        assertTrue(replicas[drained[0]].waitFor(30, TimeUnit.SECONDS), "the drained replica exits");
        int drainIdentical = report("drain", reference, drain, drained[0]);
        assertEquals(SESSIONS, drainIdentical, "every token stream equals the unfaulted run after a drain");
        assertEquals(drain.perReplica()[drained[0]], drain.failovers().size(), "each session of the drained replica moved once");

        double maxRecovery = kill.failovers().stream().mapToDouble(Failover::recoveryMs).max().orElse(0);
        System.out.printf(Locale.ROOT, "failover: sessions=%d identical=%d replicas=%d killed=1 max-recovery-ms=%.0f%n",
                SESSIONS, identical, REPLICAS, maxRecovery);
    }

    static int report(String what, Run reference, Run faulted, int victim) {
        int identical = 0;
        for (int i = 0; i < SESSIONS; i++) {
            if (java.util.Arrays.equals(reference.tokens()[i], faulted.tokens()[i])) identical++;
            else System.out.printf("%s: session %d differs:%n  %s%n  %s%n", what, i,
                    java.util.Arrays.toString(reference.tokens()[i]), java.util.Arrays.toString(faulted.tokens()[i]));
        }
        System.out.printf("%s: sessions per replica %s, replica %d hit; %d/%d identical%n", what,
                java.util.Arrays.toString(faulted.perReplica()), victim, identical, SESSIONS);
        for (Failover f : faulted.failovers()) {
            System.out.printf(Locale.ROOT, "  %s failover: step %d, %d frames, %d positions, %d bytes, replay %.1f ms (cloud %.1f ms), recovery %.1f ms%n",
                    what, f.step(), f.frames(), f.positions(), f.bytes(), f.replayMs(), f.cloudMs(), f.recoveryMs());
        }
        return identical;
    }
}
