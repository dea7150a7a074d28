import com.adobe.epubcheck.tool.EpubChecker;

/**
 * EPUBCheck over many EPUBs in one JVM: its command line takes one file, and starting Java costs
 * seconds per file. Run as a source file, no build step:
 *   java -cp epubcheck.jar EpubcheckBatch.java book1.epub report1.json book2.epub report2.json ...
 * Each report is EPUBCheck's own JSON, with usage notes (-u).
 */
public class EpubcheckBatch {
    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            new EpubChecker().run(new String[] {args[i], "-u", "-q", "--json", args[i + 1]});
        }
    }
}
