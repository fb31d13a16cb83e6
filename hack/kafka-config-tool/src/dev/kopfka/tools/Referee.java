package dev.kopfka.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import kafka.server.ControllerConfigurationValidator;
import kafka.server.KafkaConfig;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The {@code serve} mode: Kafka itself as the referee of kopfka's tests.
 *
 * <p>kopfka writes server.properties and checks settings in Python; tests compare that with what
 * this very Kafka release does. One JSON request per stdin line, one JSON response per stdout line:
 *
 * <pre>
 *   {"op":"properties","base64":B}
 *       -> {"ok":true,"properties":{...}}
 *       java.util.Properties.load(InputStream) of the bytes (ISO-8859-1), as kafka.Kafka reads
 *       server.properties (Utils.loadProps)
 *   {"op":"validate-server","base64":B}
 *       -> {"ok":true} | {"ok":false,"error":E}
 *       those properties through KafkaConfig.fromProps(props, false), the start-up validation of
 *       kafka.Kafka, KRaft checks included; nothing is started
 *   {"op":"validate-topic","configs":C}
 *       -> {"ok":true} | {"ok":false,"error":E}
 *       the controller's check of CreateTopics configs, ControllerConfigurationValidator.validate:
 *       LogConfig.validate(existing, new, broker defaults, remote storage disabled)
 * </pre>
 *
 * <p>E is Kafka's exception message. A malformed request, or anything else going wrong, answers
 * {"ok":false,"error":"class: message"}; the loop only ends at the end of stdin.
 */
final class Referee {
  /** The controller whose defaults topic configs are checked against: all Kafka defaults. */
  private static final Map<String, String> DEFAULT_CONTROLLER =
      Map.of(
          "process.roles", "controller",
          "node.id", "1",
          "controller.quorum.voters", "1@localhost:9093",
          "controller.listener.names", "CONTROLLER",
          "listeners", "CONTROLLER://localhost:9093");

  private static final ConfigResource TOPIC =
      new ConfigResource(ConfigResource.Type.TOPIC, "referee");

  private final BufferedReader in;
  private final OutputStream out;
  private ControllerConfigurationValidator topicValidator;

  Referee(InputStream in, OutputStream out) {
    this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    this.out = out;
  }

  void run() throws IOException {
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) {
        continue;
      }
      out.write((Json.compact(answer(line)) + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
    }
  }

  private Map<String, Object> answer(String line) {
    try {
      JsonNode request = Json.parse(line);
      String op = request.path("op").asText();
      switch (op) {
        case "properties":
          Map<String, Object> answer = new LinkedHashMap<>();
          answer.put("ok", true);
          answer.put("properties", toMap(load(request)));
          return answer;
        case "validate-server":
          Properties props = load(request);
          return verdict(() -> KafkaConfig.fromProps(props, false));
        case "validate-topic":
          Map<String, String> configs = configs(request);
          ControllerConfigurationValidator validator = topicValidator();
          return verdict(() -> validator.validate(TOPIC, configs, Map.of()));
        default:
          throw new IllegalArgumentException("unknown op '" + op + "'");
      }
    } catch (Exception | LinkageError e) {
      e.printStackTrace();
      return failure(e.getClass().getName() + ": " + e.getMessage());
    }
  }

  /** Runs one of Kafka's checks: what it throws is its verdict, in its own words. */
  private static Map<String, Object> verdict(Runnable check) {
    try {
      check.run();
    } catch (Exception e) {
      return failure(e.getMessage() != null ? e.getMessage() : e.toString());
    }
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("ok", true);
    return answer;
  }

  private static Map<String, Object> failure(String error) {
    Map<String, Object> answer = new LinkedHashMap<>();
    answer.put("ok", false);
    answer.put("error", error);
    return answer;
  }

  /** The request's bytes read the way kafka.Kafka reads server.properties. */
  private static Properties load(JsonNode request) throws IOException {
    JsonNode data = request.get("base64");
    if (data == null || !data.isTextual()) {
      throw new IllegalArgumentException("'base64' (a string) is required");
    }
    Properties props = new Properties();
    props.load(new ByteArrayInputStream(Base64.getDecoder().decode(data.textValue())));
    return props;
  }

  private static Map<String, String> toMap(Properties props) {
    Map<String, String> map = new TreeMap<>();
    for (String name : props.stringPropertyNames()) {
      map.put(name, props.getProperty(name));
    }
    return map;
  }

  /** The request's topic configs; a JSON null value is passed on (Kafka refuses it). */
  private static Map<String, String> configs(JsonNode request) {
    JsonNode configs = request.get("configs");
    if (configs == null || !configs.isObject()) {
      throw new IllegalArgumentException("'configs' (an object of strings) is required");
    }
    Map<String, String> map = new HashMap<>();
    for (Map.Entry<String, JsonNode> field : configs.properties()) {
      JsonNode value = field.getValue();
      if (!value.isNull() && !value.isTextual()) {
        throw new IllegalArgumentException("config '" + field.getKey() + "' is not a string");
      }
      map.put(field.getKey(), value.isNull() ? null : value.textValue());
    }
    return map;
  }

  private ControllerConfigurationValidator topicValidator() {
    if (topicValidator == null) {
      Properties props = new Properties();
      props.putAll(DEFAULT_CONTROLLER);
      topicValidator = new ControllerConfigurationValidator(KafkaConfig.fromProps(props, false));
    }
    return topicValidator;
  }
}
