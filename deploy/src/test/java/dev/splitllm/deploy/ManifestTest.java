package dev.splitllm.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.splitllm.cli.ServeCommand;
import dev.splitllm.cloud.CloudServer;
import dev.splitllm.optimizer.profile.Units;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every manifest in deploy/k8s and the nginx config, held to the server's real ports, paths, flags and limits. */
class ManifestTest {
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static Map<String, JsonNode> manifests() throws IOException {
        Map<String, JsonNode> byKind = new HashMap<>();
        try (Stream<Path> files = Files.list(Paths.get("k8s"))) {
            for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".yaml"))::iterator) {
                JsonNode doc = YAML.readTree(f.toFile());
                assertNotNull(doc.get("apiVersion"), f + ": apiVersion");
                assertEquals("splitllm", doc.path("metadata").path("name").asText(doc.path("metadata").path("name").asText()).replace("-tokens", ""), f + ": name");
                byKind.put(doc.path("kind").asText(), doc);
            }
        }
        return byKind;
    }

    @Test
    void deploymentMatchesTheServer() throws IOException {
        Map<String, JsonNode> m = manifests();
        assertEquals(List.of("Deployment", "HorizontalPodAutoscaler", "Ingress", "PodDisruptionBudget", "Secret", "Service"),
                m.keySet().stream().sorted().toList());
        JsonNode pod = m.get("Deployment").path("spec").path("template").path("spec");
        JsonNode c = pod.path("containers").get(0);
        List<String> args = new ArrayList<>();
        c.path("args").forEach(a -> args.add(a.asText()));
        assertEquals("serve", args.get(0));
        // The flags are the real serve command's: picocli parses them (unknown flags or bad values throw).
        ServeCommand serve = new ServeCommand();
        CommandLine.ParseResult parsed = new CommandLine(serve).parseArgs(args.subList(1, args.size()).toArray(new String[0]));
        int port = parsed.matchedOptionValue("--port", 0);
        assertEquals(port, c.path("ports").get(0).path("containerPort").asInt(), "containerPort = --port");
        assertEquals("0.0.0.0", parsed.matchedOptionValue("--host", ""));
        assertEquals(CloudServer.HEALTH_PATH, c.path("readinessProbe").path("httpGet").path("path").asText());
        assertEquals(CloudServer.HEALTH_PATH + "?" + CloudServer.LIVE_QUERY, c.path("livenessProbe").path("httpGet").path("path").asText());
        long drainS = Units.parseDuration(parsed.matchedOptionValue("--drain-timeout", "20s")).toSeconds();
        long grace = pod.path("terminationGracePeriodSeconds").asLong();
        assertTrue(grace >= drainS + 5, "terminationGracePeriodSeconds " + grace + " must exceed --drain-timeout " + drainS + " s");
        assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
        assertTrue(c.path("resources").path("limits").has("memory") && c.path("resources").path("requests").has("cpu"));
        // --token-file points into the mounted Secret.
        String tokenFile = parsed.matchedOptionValue("--token-file", (Path) null).toString();
        JsonNode mount = c.path("volumeMounts").get(0);
        JsonNode vol = pod.path("volumes").get(0);
        assertEquals(tokenFile, mount.path("mountPath").asText() + "/" + vol.path("secret").path("items").get(0).path("path").asText());
        assertEquals(m.get("Secret").path("metadata").path("name").asText(), vol.path("secret").path("secretName").asText());
        assertTrue(m.get("Secret").path("stringData").has(vol.path("secret").path("items").get(0).path("key").asText()));
    }

    @Test
    void serviceIngressPdbHpaPointAtTheDeployment() throws IOException {
        Map<String, JsonNode> m = manifests();
        JsonNode labels = m.get("Deployment").path("spec").path("template").path("metadata").path("labels");
        assertEquals(labels, m.get("Service").path("spec").path("selector"));
        assertEquals(labels, m.get("PodDisruptionBudget").path("spec").path("selector").path("matchLabels"));
        assertEquals("http", m.get("Service").path("spec").path("ports").get(0).path("targetPort").asText());
        assertEquals("http", m.get("Deployment").path("spec").path("template").path("spec").path("containers").get(0)
                .path("ports").get(0).path("name").asText());
        JsonNode ing = m.get("Ingress");
        JsonNode ann = ing.path("metadata").path("annotations");
        assertEquals("$splitllm_session", ann.path("nginx.ingress.kubernetes.io/upstream-hash-by").asText());
        assertTrue(ann.path("nginx.ingress.kubernetes.io/configuration-snippet").asText().contains("^/v1/sessions/([0-9a-f]{32})"));
        assertTrue(Units.parseBytes(ann.path("nginx.ingress.kubernetes.io/proxy-body-size").asText().toUpperCase() + "B") >= 16L << 20);
        assertTrue(ann.path("nginx.ingress.kubernetes.io/proxy-read-timeout").asInt() > 300, "above the 5 min idle timeout");
        JsonNode backend = ing.path("spec").path("rules").get(0).path("http").path("paths").get(0).path("backend").path("service");
        assertEquals(m.get("Service").path("metadata").path("name").asText(), backend.path("name").asText());
        JsonNode hpa = m.get("HorizontalPodAutoscaler").path("spec");
        assertEquals("Deployment", hpa.path("scaleTargetRef").path("kind").asText());
        String metric = hpa.path("metrics").get(0).path("pods").path("metric").path("name").asText();
        String metricsSource = Files.readString(Paths.get("..", "cloud-server", "src", "main", "java", "dev", "splitllm", "cloud", "Metrics.java"));
        assertTrue(metricsSource.contains("\"" + metric + "\""), "the server exports " + metric);
    }

    @Test
    void nginxConfigMatchesTheServer() throws IOException {
        String conf = Files.readString(Nginx.sharedConf());
        assertTrue(conf.contains("hash $splitllm_session consistent;"));
        assertTrue(conf.contains("\"~^/v1/sessions/(?<sid>[0-9a-f]{32})(/|$)\" $sid;"));
        assertTrue(conf.contains("proxy_set_header Upgrade $http_upgrade;"));
        assertTrue(conf.contains("client_max_body_size 17m;"), "16 MiB frames and probes plus headers");
        assertTrue(conf.contains("proxy_read_timeout 330s;"), "above the 5 min idle timeout");
        assertTrue(conf.contains("http_503 non_idempotent"), "a draining replica's 503 goes to the next replica");
    }
}
