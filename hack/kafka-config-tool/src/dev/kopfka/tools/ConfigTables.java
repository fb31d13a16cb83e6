package dev.kopfka.tools;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import kafka.server.KafkaConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.server.config.DynamicBrokerConfig;
import org.apache.kafka.server.config.ServerTopicConfigSynonyms;
import org.apache.kafka.storage.internals.log.LogConfig;

/**
 * Builds the table of one Kafka release's config definitions (the {@code table} mode).
 *
 * <p>Everything comes from the release's own objects: the server settings are the keys of
 * KafkaConfig's ConfigDef (what brokers and controllers parse server.properties with), the topic
 * settings those of LogConfig's ConfigDef (what CreateTopics and AlterConfigs check topic configs
 * with). Per server setting it adds the dynamic update mode that Kafka's own documentation shows
 * ({@code DynamicBrokerConfig.dynamicConfigUpdateModes()}, "read-only" for the rest) and the roles
 * from {@link Roles}; per topic setting the server setting that supplies its default ({@code
 * ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS}).
 */
final class ConfigTables {
  static final String GENERATED_BY = "make kafka-config-tables (hack/kafka-config-tool.sh)";

  private ConfigTables() {}

  static Map<String, Object> build(String kafkaVersion) {
    Map<String, ConfigDef.ConfigKey> serverKeys = KafkaConfig.configDef().configKeys();
    Map<String, String> dynamicModes = DynamicBrokerConfig.dynamicConfigUpdateModes();
    Map<String, List<String>> roles = Roles.forKeys(serverKeys.keySet());
    Map<String, Object> server = new TreeMap<>();
    for (ConfigDef.ConfigKey key : serverKeys.values()) {
      Map<String, Object> entry = entry(key);
      entry.put("dynamic", dynamicModes.getOrDefault(key.name, "read-only"));
      entry.put("roles", roles.get(key.name));
      server.put(key.name, entry);
    }

    Map<String, Object> topic = new TreeMap<>();
    for (ConfigDef.ConfigKey key : LogConfig.configKeys().values()) {
      String serverDefault = ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS.get(key.name);
      if (serverDefault != null && !server.containsKey(serverDefault)) {
        throw new IllegalStateException(
            "topic setting "
                + key.name
                + " takes its default from "
                + serverDefault
                + ", which is no server setting");
      }
      Map<String, Object> entry = entry(key);
      entry.put("serverDefault", serverDefault);
      topic.put(key.name, entry);
    }

    Map<String, Object> table = new TreeMap<>();
    table.put("kafkaVersion", kafkaVersion);
    table.put("generatedBy", GENERATED_BY);
    table.put("server", server);
    table.put("topic", topic);
    return table;
  }

  /** What every ConfigDef key has: type, default (Kafka's string form), validator. */
  private static Map<String, Object> entry(ConfigDef.ConfigKey key) {
    boolean required = key.defaultValue == ConfigDef.NO_DEFAULT_VALUE;
    Map<String, Object> entry = new TreeMap<>();
    entry.put("type", key.type.name());
    entry.put("default", required ? null : ConfigDef.convertToString(key.defaultValue, key.type));
    entry.put("required", required);
    entry.put("internal", key.internalConfig);
    entry.put("validator", Validators.describe(key.name, key.type, key.validator));
    return entry;
  }
}
