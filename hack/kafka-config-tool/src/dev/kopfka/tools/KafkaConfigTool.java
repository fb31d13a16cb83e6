package dev.kopfka.tools;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * Entry point of the build-time Kafka config tool (docs/kafka-config-tables.md).
 *
 * <p>kopfka's model is pure Python, yet it must know Kafka's own configuration rules. This tool,
 * compiled against one Kafka release's jars by hack/kafka-config-tool.sh, asks that release:
 *
 * <ul>
 *   <li>{@code table [--output FILE]}: the JSON table of its server and topic config definitions
 *       (committed as operator/kopfka/model/kafka_configs/VERSION.json);
 *   <li>{@code serve}: a line-oriented JSON "referee" that tests use to check kopfka's Python
 *       against Kafka's own parsing and validation (tests/kafka/referee.py).
 * </ul>
 *
 * <p>Kafka's logging may print to System.out; the tool keeps the real stdout for its own output and
 * points System.out at stderr before any Kafka class is loaded.
 */
public final class KafkaConfigTool {
  private KafkaConfigTool() {}

  public static void main(String[] args) throws IOException {
    PrintStream stdout = System.out;
    System.setOut(System.err);
    if (args.length == 1 && args[0].equals("table")) {
      stdout.write(table());
      stdout.flush();
    } else if (args.length == 3 && args[0].equals("table") && args[1].equals("--output")) {
      // The whole table first: a failure leaves an existing file as it was.
      byte[] table = table();
      Files.write(Path.of(args[2]), table);
    } else if (args.length == 1 && args[0].equals("serve")) {
      new Referee(System.in, stdout).run();
    } else {
      System.err.println("usage: KafkaConfigTool table [--output FILE] | serve");
      System.exit(2);
    }
  }

  private static byte[] table() {
    return Json.pretty(ConfigTables.build(kafkaVersion())).getBytes(StandardCharsets.UTF_8);
  }

  /** The release of the Kafka jars on the classpath, as the clients jar records it. */
  static String kafkaVersion() {
    Properties props = new Properties();
    try (InputStream in =
        KafkaConfigTool.class
            .getClassLoader()
            .getResourceAsStream("kafka/kafka-version.properties")) {
      if (in == null) {
        throw new IllegalStateException("no kafka/kafka-version.properties on the classpath");
      }
      props.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return props.getProperty("version");
  }
}
