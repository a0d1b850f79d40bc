package dev.splitllm.fetch;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.LongConsumer;

/**
 * A stored file whose content must have a known sha256. Next to {@code NAME} lives
 * {@code NAME.verified}, written only after the hash was checked; it records the sha256, the
 * size and the modification time seen then. A file counts as valid when its marker matches
 * the expected hash and its current size and time, so the full hash is computed once, not on
 * every use. Files are installed atomically: written under a temporary name in the same
 * folder, forced to disk, hashed, then renamed over the old one; a half-written or wrong file
 * never carries the final name with a valid marker.
 */
public final class VerifiedFile {
    private final Path file;
    private final Path marker;
    private final String sha256;

    public VerifiedFile(Path file, String sha256) {
        this.file = file;
        this.marker = file.resolveSibling(file.getFileName() + ".verified");
        this.sha256 = sha256;
    }

    public Path path() {
        return file;
    }

    public Path marker() {
        return marker;
    }

    /**
     * True when the file is present with the expected content. Cheap when the marker is
     * current; otherwise hashes the file once and, when it matches, writes the marker (a
     * read-only folder just means hashing again next time).
     */
    public boolean isValid(LongConsumer hashProgress) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return false;
        } catch (FileSystemException e) {
            return false; // e.g. a path component is not a folder: not present; a fetch reports why
        }
        if (!attrs.isRegularFile()) {
            return false;
        }
        String expectedMarker = markerText(attrs);
        if (Files.isRegularFile(marker) && Files.size(marker) < 4096) {
            String text = Files.readString(marker, StandardCharsets.US_ASCII).strip();
            if (text.equals(expectedMarker)) {
                return true;
            }
        }
        if (!Sha256.of(file, hashProgress).equals(sha256)) {
            return false;
        }
        try {
            writeMarker();
        } catch (IOException e) {
            // Not fatal: the file is good, we just cannot remember that.
        }
        return true;
    }

    /**
     * Hashes {@code staged} (a file in the same folder), and when it matches moves it to the
     * final name atomically and writes the marker. On a mismatch deletes {@code staged} and
     * throws; the old file, if any, is left as it was.
     */
    public void install(Path staged, LongConsumer hashProgress) throws IOException {
        String got = Sha256.of(staged, hashProgress);
        if (!got.equals(sha256)) {
            Files.deleteIfExists(staged);
            throw new FetchException("sha256 mismatch for " + file.getFileName() + ": expected " + sha256 + ", got " + got
                    + ". The download is corrupt or the package changed; nothing was stored.");
        }
        Files.deleteIfExists(marker);
        move(staged, file);
        writeMarker();
        syncDirectory(file.getParent());
    }

    private void writeMarker() throws IOException {
        BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
        Path tmp = Files.createTempFile(file.getParent(), "." + file.getFileName() + ".", ".tmp");
        try {
            makeReadable(tmp);
            writeSynced(tmp, (markerText(attrs) + "\n").getBytes(StandardCharsets.US_ASCII));
            move(tmp, marker);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String markerText(BasicFileAttributes attrs) {
        return sha256 + " " + attrs.size() + " " + attrs.lastModifiedTime().toMillis();
    }

    /** Temporary files are created owner-only; stored files should be readable like any other. */
    static void makeReadable(Path p) throws IOException {
        try {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: keep its defaults.
        }
    }

    /** Writes bytes to a file and forces them to disk. */
    static void writeSynced(Path target, byte[] data) throws IOException {
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(data);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new FetchException("the file system of " + to.getParent() + " cannot rename files atomically", e);
        }
    }

    /** Makes the renames durable where the platform allows opening a directory (Linux does). */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Best effort only.
        }
    }
}
