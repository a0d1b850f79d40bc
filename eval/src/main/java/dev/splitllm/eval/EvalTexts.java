package dev.splitllm.eval;

import dev.splitllm.fetch.Folders;
import dev.splitllm.fetch.ModelStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The evaluation texts (docs/MODEL.md, "Evaluation texts"), fetched once and cached under
 * {@code ModelStore.cacheDir()/texts/}: Jane Austen's six novels parsed in Java from Debian
 * {@code r-cran-janeaustenr}'s R lazy-load DB, and the King James Bible dumped by the
 * {@code bible} program of Debian {@code bible-kjv} from {@code bible-kjv-text}. Every file
 * is checked against its published sha256 when written and when read; files are written
 * atomically (temporary file, then rename), so a crash never leaves a half text behind.
 */
public final class EvalTexts {

    /** The six novels in the order of the R data file's blocks, with their sha256 (lines joined by "\n" plus a final "\n"). */
    public enum Novel {
        EMMA("emma", "7c67b5985c6d0de1efaeb5d342d52cb82c38083c40e2295129e30e87ee690ebe"),
        MANSFIELD_PARK("mansfieldpark", "98bc90519cdf4ef663ad7de2734bb529435ef24f7abbde6bb1a50898871dafe9"),
        NORTHANGER_ABBEY("northangerabbey", "51f91bbe0517db8e65cff009b097ce0a1836124c4e0532ac19e6c0cad982abed"),
        PERSUASION("persuasion", "8061549557aebd2fd6e353d18d9197cb707029112bd52d4d8b174583a925848a"),
        PRIDE_AND_PREJUDICE("prideprejudice", "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d"),
        SENSE_AND_SENSIBILITY("sensesensibility", "105e1651fe93bed7130078578efd31e0c557d68667ba672ddc876f735b30fe09");

        /** The R object name, also the cached file's base name. */
        public final String id;
        /** Expected sha256 of the text. */
        public final String sha256;

        Novel(String id, String sha256) {
            this.id = id;
            this.sha256 = sha256;
        }
    }

    /** sha256 of the labelled KJV dump ({@code bible -f -p . "gen1:1-rev22:21"}). */
    public static final String KJV_SHA256 = "cd45f0c9cedab8e4439bd6486c8952c77cc8b0ecc5d1f6ae3513f2039f47229d";
    static final String AUSTEN_PACKAGE = "r-cran-janeaustenr";
    static final String RDB_PATH = "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb";
    static final long MAX_TEXT_BYTES = 16 << 20;

    private final Path dir;

    /** Texts cached under {@code cacheRoot/texts}. */
    public EvalTexts(Path cacheRoot) {
        this.dir = cacheRoot.resolve("texts");
    }

    /** Texts in the user's splitllm cache directory. */
    public static EvalTexts inUserCache() {
        return new EvalTexts(ModelStore.cacheDir());
    }

    /** The folder holding the cached texts. */
    public Path dir() {
        return dir;
    }

    /** The novel's text (fetched and parsed on first use). */
    public String austen(Novel novel) throws IOException {
        Path f = dir.resolve("austen").resolve(novel.id + ".txt");
        String cached = readVerified(f, novel.sha256);
        if (cached != null) {
            return cached;
        }
        fetchAusten();
        String text = readVerified(f, novel.sha256);
        if (text == null) {
            throw new IOException("could not produce " + f);
        }
        return text;
    }

    /** The labelled KJV text, one verse per line ("Ge1:1 In the beginning ..."), fetched on first use. */
    public String kjv() throws IOException {
        Path f = dir.resolve("kjv.txt");
        String cached = readVerified(f, KJV_SHA256);
        if (cached != null) {
            return cached;
        }
        fetchKjv();
        String text = readVerified(f, KJV_SHA256);
        if (text == null) {
            throw new IOException("could not produce " + f);
        }
        return text;
    }

    /**
     * Verses of one book of the labelled KJV text, labels removed; {@code label} is the book's
     * label prefix as the dump writes it (e.g. "Ge" for Genesis).
     */
    public List<String> kjvBook(String label) throws IOException {
        List<String> verses = new ArrayList<>();
        for (String line : kjv().split("\n")) {
            int space = line.indexOf(' ');
            if (space < 0) {
                continue;
            }
            String tag = line.substring(0, space);
            int colon = tag.indexOf(':');
            String book = tag.replaceAll("[0-9]+(:[0-9]+)?$", "");
            if (colon > 0 && book.equals(label)) {
                verses.add(line.substring(space + 1));
            }
        }
        if (verses.isEmpty()) {
            throw new IllegalArgumentException("no KJV verses labelled '" + label + "' (e.g. Ge, Ex, Mt)");
        }
        return verses;
    }

    /** Downloads the Austen package, parses the six novels and caches them (verified). */
    void fetchAusten() throws IOException {
        Path tmp = Files.createTempDirectory("splitllm-austen");
        try {
            Path deb = DebianPackages.download(tmp, AUSTEN_PACKAGE).get(0);
            Path root = tmp.resolve("root");
            DebianPackages.extract(deb, root);
            Path rdb = root.resolve(RDB_PATH);
            if (!Files.isRegularFile(rdb)) {
                throw new IOException(AUSTEN_PACKAGE + " has no " + RDB_PATH + " (unexpected package version?)");
            }
            writeNovels(Files.readAllBytes(rdb));
        } finally {
            Folders.deleteTree(tmp);
        }
    }

    /** Parses the R lazy-load DB bytes and writes every novel, each checked against its sha256. */
    void writeNovels(byte[] rdb) throws IOException {
        List<String> texts = parseNovels(rdb);
        Novel[] novels = Novel.values();
        for (int i = 0; i < novels.length; i++) {
            writeVerified(dir.resolve("austen").resolve(novels[i].id + ".txt"), texts.get(i).getBytes(StandardCharsets.UTF_8),
                    novels[i].sha256, novels[i].id);
        }
    }

    /** The six novels' texts (lines joined by "\n" plus a final "\n") in {@link Novel} order, unverified. */
    public static List<String> parseNovels(byte[] rdb) throws IOException {
        List<List<String>> blocks = RLazyLoadDb.readCharacterVectors(rdb);
        if (blocks.size() != Novel.values().length) {
            throw new IOException("janeaustenr Rdata.rdb holds " + blocks.size() + " blocks, expected " + Novel.values().length);
        }
        List<String> out = new ArrayList<>();
        for (List<String> lines : blocks) {
            out.add(String.join("\n", lines) + "\n");
        }
        return out;
    }

    /** Downloads bible-kjv and bible-kjv-text, runs the reader to dump every verse, caches kjv.txt (verified). */
    void fetchKjv() throws IOException {
        Path tmp = Files.createTempDirectory("splitllm-kjv");
        try {
            List<Path> debs = DebianPackages.download(tmp, "bible-kjv", "bible-kjv-text");
            Path root = tmp.resolve("root");
            for (Path deb : debs) {
                DebianPackages.extract(deb, root);
            }
            Path program = root.resolve("usr/bin/bible");
            Path lib = root.resolve("usr/lib");
            if (!Files.isRegularFile(program) || !Files.isRegularFile(lib.resolve("bible.data"))) {
                throw new IOException("bible-kjv packages lack usr/bin/bible or usr/lib/bible.data (unexpected version?)");
            }
            Path out = tmp.resolve("kjv.txt");
            ProcessBuilder pb = new ProcessBuilder(program.toString(), "-f", "-p", ".", "gen1:1-rev22:21")
                    .directory(lib.toFile()).redirectOutput(out.toFile()).redirectError(tmp.resolve("bible.err").toFile());
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new IOException("cannot run the extracted bible reader " + program + ": " + e.getMessage(), e);
            }
            try {
                if (!p.waitFor(DebianPackages.TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IOException("bible reader did not finish within " + DebianPackages.TIMEOUT_SECONDS + " s");
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while dumping the KJV", e);
            }
            if (p.exitValue() != 0) {
                throw new IOException("bible reader exited with status " + p.exitValue() + ": "
                        + Files.readString(tmp.resolve("bible.err")).strip());
            }
            if (Files.size(out) > MAX_TEXT_BYTES) {
                throw new IOException("KJV dump larger than " + MAX_TEXT_BYTES + " bytes");
            }
            writeVerified(dir.resolve("kjv.txt"), Files.readAllBytes(out), KJV_SHA256, "kjv.txt");
        } finally {
            Folders.deleteTree(tmp);
        }
    }

    /** The file's text if it exists and matches {@code sha256}; null when absent or different (then refetched). */
    private static String readVerified(Path f, String sha256) throws IOException {
        if (!Files.isRegularFile(f) || Files.size(f) > MAX_TEXT_BYTES) {
            return null;
        }
        byte[] b = Files.readAllBytes(f);
        return sha256(b).equals(sha256) ? new String(b, StandardCharsets.UTF_8) : null;
    }

    private static void writeVerified(Path f, byte[] content, String sha256, String what) throws IOException {
        String got = sha256(content);
        if (!got.equals(sha256)) {
            throw new IOException(what + ": sha256 " + got + " differs from the expected " + sha256);
        }
        Files.createDirectories(f.getParent());
        Path tmp = Files.createTempFile(f.getParent(), f.getFileName().toString(), ".part");
        try {
            Files.write(tmp, content);
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Lower-case hex sha256. */
    public static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
