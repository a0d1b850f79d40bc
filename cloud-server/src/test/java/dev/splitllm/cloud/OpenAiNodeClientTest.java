package dev.splitllm.cloud;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The official {@code openai} npm client (the version pinned in scripts/openai-client/package.json,
 * installed by scripts/openai-client-test.sh into the user cache) runs scripts/openai-client/client-test.cjs
 * against a real server on loopback: models, completions and chat, streaming and not, stop, seed, errors.
 */
class OpenAiNodeClientTest {

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void officialClientPassesEveryCheck() throws Exception {
        Optional<Path> node = ExternalTools.onPath("node", "nodejs");
        ExternalTools.require(node.isPresent(), "node is not installed; run scripts/openai-client-test.sh");
        Path modules = ExternalTools.cache().resolve("npm-openai/node_modules");
        ExternalTools.require(Files.isRegularFile(modules.resolve("openai/package.json")),
                "the openai npm package is not in " + modules + "; run scripts/openai-client-test.sh");
        Path script = ExternalTools.repoRoot().resolve("scripts/openai-client/client-test.cjs");
        assertTrue(Files.isRegularFile(script), script.toString());
        try (ServerFixture fx = new ServerFixture(ServerConfig.defaults(Set.of(ServerFixture.TOKEN)))) {
            ProcessBuilder pb = new ProcessBuilder(node.get().toString(), script.toString()).redirectErrorStream(true);
            pb.environment().put("NODE_PATH", modules.toString());
            pb.environment().put("SPLITLLM_BASE_URL", fx.baseUrl());
            pb.environment().put("SPLITLLM_TOKEN", ServerFixture.TOKEN);
            Process p = pb.start();
            try {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(4, TimeUnit.MINUTES), "node did not finish");
                System.out.println(out);
                assertEquals(0, p.exitValue(), out);
                assertTrue(out.contains("checks passed"), out);
            } finally {
                p.destroyForcibly(); // only our own child; a no-op once it has exited
            }
        }
    }
}
