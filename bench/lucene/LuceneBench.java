// The Lucene peer of issue 18's benchmark: index a file of articles, then time a list of queries.
//
// Java 11+, only Lucene's own jars (core, analyzers-common) on the class path. bench/bench_lucene.py compiles
// and drives it. Both input files are plain text the driver writes, one record a line, with \t, \n, \r and \
// written as the two characters \t, \n, \r, \\ (so no JSON parser is needed here):
//   articles: id <TAB> title <TAB> body <TAB> tags (joined by \u001f) <TAB> date (ISO, may be empty)
//   queries:  one query a line
//
//   java LuceneBench index ARTICLES INDEX_DIR       -> one JSON line: documents, index_ms (in the JVM), version
//   java LuceneBench query INDEX_DIR QUERIES ROUNDS -> a JSON line of totals (open_ms, warmup_ms, timed_ms), then
//                                                      one a query: {"i", "ids", "ms": [...], "cpu_ms": [...]}
//                                                      timed after one untimed warm-up pass over all queries
//
// Analysis: FrenchAnalyzer (elision, lowercase, French stop words, light stemmer); ranking: BM25 (k1 1.2,
// b 0.75, Lucene's default similarity); a query is the OR of all its analyzed words over title and body.
import java.io.BufferedReader;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.IntPoint;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.Version;

public final class LuceneBench {
    private static final String[] FIELDS = {"title", "body"};

    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("index")) {
            index(Paths.get(args[1]), Paths.get(args[2]));
        } else if (args.length == 4 && args[0].equals("query")) {
            query(Paths.get(args[1]), Paths.get(args[2]), Integer.parseInt(args[3]));
        } else {
            System.err.println("usage: LuceneBench index ARTICLES INDEX_DIR | query INDEX_DIR QUERIES ROUNDS");
            System.exit(2);
        }
    }

    /** Undo the driver's escaping of one field. */
    static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                out.append(n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n);
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    static void index(Path articles, Path indexDir) throws IOException {
        long started = System.nanoTime();
        int documents = 0;
        IndexWriterConfig config = new IndexWriterConfig(new FrenchAnalyzer());
        config.setSimilarity(new BM25Similarity());
        config.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
        try (Directory dir = FSDirectory.open(indexDir);
             IndexWriter writer = new IndexWriter(dir, config);
             BufferedReader in = Files.newBufferedReader(articles, StandardCharsets.UTF_8)) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] cols = line.split("\t", -1);
                if (cols.length != 5) {
                    throw new IOException("line " + (documents + 1) + ": " + cols.length + " columns, not 5");
                }
                Document doc = new Document();
                doc.add(new StringField("id", unescape(cols[0]), Field.Store.YES));
                doc.add(new TextField("title", unescape(cols[1]), Field.Store.YES));
                doc.add(new TextField("body", unescape(cols[2]), Field.Store.YES));
                if (!cols[3].isEmpty()) {
                    for (String tag : unescape(cols[3]).split("\u001f")) {
                        doc.add(new StringField("tags", tag, Field.Store.YES));
                    }
                }
                String date = unescape(cols[4]);
                if (date.length() >= 10) {
                    doc.add(new StringField("date", date, Field.Store.YES));
                    doc.add(new IntPoint("day", Integer.parseInt(date.substring(0, 10).replace("-", ""))));
                }
                writer.addDocument(doc);
                documents++;
            }
            writer.commit();
        }
        double ms = (System.nanoTime() - started) / 1e6;
        System.out.println("{\"documents\": " + documents + ", \"index_ms\": " + ms
                + ", \"lucene\": \"" + Version.LATEST + "\", \"java\": \"" + System.getProperty("java.version") + "\"}");
    }

    /** The OR of every analyzed word of the text, in title and in body (a word twice in the text counts twice). */
    static BooleanQuery orQuery(Analyzer analyzer, String text) throws IOException {
        BooleanQuery.Builder builder = new BooleanQuery.Builder();
        try (TokenStream ts = analyzer.tokenStream("body", text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) {
                String word = term.toString();
                for (String field : FIELDS) {
                    builder.add(new TermQuery(new Term(field, word)), BooleanClause.Occur.SHOULD);
                }
            }
            ts.end();
        }
        return builder.build();
    }

    static String jsonString(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    static void query(Path indexDir, Path queryFile, int rounds) throws IOException {
        BooleanQuery.setMaxClauseCount(1 << 16);
        List<String> queries = new ArrayList<>();
        for (String line : Files.readAllLines(queryFile, StandardCharsets.UTF_8)) {
            queries.add(unescape(line));
        }
        Analyzer analyzer = new FrenchAnalyzer();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long opening = System.nanoTime();
        try (Directory dir = FSDirectory.open(indexDir); DirectoryReader reader = DirectoryReader.open(dir)) {
            double openMs = (System.nanoTime() - opening) / 1e6;
            long[] passStarted = new long[rounds + 1];
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(new BM25Similarity());
            int n = queries.size();
            String[][] ids = new String[n][];
            double[][] ms = new double[n][rounds];
            double[][] cpu = new double[n][rounds];
            for (int round = -1; round < rounds; round++) {  // round -1: the warm-up pass, not timed
                passStarted[round + 1] = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    long cpuStarted = threads.getCurrentThreadCpuTime();
                    long started = System.nanoTime();
                    TopDocs top = searcher.search(orQuery(analyzer, queries.get(i)), 10);
                    String[] found = new String[top.scoreDocs.length];
                    for (int k = 0; k < found.length; k++) {
                        found[k] = searcher.doc(top.scoreDocs[k].doc).get("id");
                    }
                    long elapsed = System.nanoTime() - started;
                    long cpuElapsed = threads.getCurrentThreadCpuTime() - cpuStarted;
                    if (round >= 0) {
                        ms[i][round] = elapsed / 1e6;
                        cpu[i][round] = cpuElapsed / 1e6;
                    }
                    ids[i] = found;
                }
            }
            long ended = System.nanoTime();
            StringBuilder out = new StringBuilder();
            out.append("{\"open_ms\": ").append(openMs).append(", \"warmup_ms\": ")
                    .append(((rounds > 0 ? passStarted[1] : ended) - passStarted[0]) / 1e6)
                    .append(", \"timed_ms\": ").append((ended - (rounds > 0 ? passStarted[1] : ended)) / 1e6)
                    .append("}\n");
            for (int i = 0; i < n; i++) {
                out.append("{\"i\": ").append(i).append(", \"ids\": [");
                for (int k = 0; k < ids[i].length; k++) {
                    out.append(k > 0 ? ", " : "").append(jsonString(ids[i][k]));
                }
                out.append("], \"ms\": [");
                for (int r = 0; r < rounds; r++) {
                    out.append(r > 0 ? ", " : "").append(ms[i][r]);
                }
                out.append("], \"cpu_ms\": [");
                for (int r = 0; r < rounds; r++) {
                    out.append(r > 0 ? ", " : "").append(cpu[i][r]);
                }
                out.append("]}\n");
            }
            System.out.print(out);
        }
    }
}
