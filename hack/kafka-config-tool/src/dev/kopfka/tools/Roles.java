package dev.kopfka.tools;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.internals.BrokerSecurityConfigs;
import org.apache.kafka.coordinator.group.GroupCoordinatorConfig;
import org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig;
import org.apache.kafka.coordinator.share.ShareCoordinatorConfig;
import org.apache.kafka.coordinator.transaction.AddPartitionsToTxnConfig;
import org.apache.kafka.coordinator.transaction.TransactionLogConfig;
import org.apache.kafka.coordinator.transaction.TransactionStateManagerConfig;
import org.apache.kafka.network.SocketServerConfigs;
import org.apache.kafka.raft.KRaftConfigs;
import org.apache.kafka.raft.MetadataLogConfig;
import org.apache.kafka.raft.QuorumConfig;
import org.apache.kafka.server.config.AbstractKafkaConfig;
import org.apache.kafka.server.config.DelegationTokenManagerConfigs;
import org.apache.kafka.server.config.QuotaConfig;
import org.apache.kafka.server.config.ReplicationConfigs;
import org.apache.kafka.server.config.ServerConfigs;
import org.apache.kafka.server.log.remote.storage.RemoteLogManagerConfig;
import org.apache.kafka.server.metrics.MetricConfigs;
import org.apache.kafka.storage.internals.log.CleanerConfig;
import org.apache.kafka.storage.internals.log.LogConfig;

/**
 * Which process roles (broker, controller) a server setting matters to.
 *
 * <p>Kafka has no such attribute: every node parses the whole KafkaConfig. But Kafka 4.x builds
 * KafkaConfig's ConfigDef by merging one ConfigDef per server component (the static initialiser of
 * AbstractKafkaConfig.CONFIG_DEF, the same list in 4.3 and 4.4), and most components run on one
 * role only. So a setting's roles are its component's roles, from this table. A component that
 * mixes settings of both roles, or that we are not sure of, is "both": saying a setting matters to
 * a role where it does not is harmless, the reverse would hide it.
 *
 * <pre>
 *   component (ConfigDef)                        roles   why
 *   ------------------------------------------   ------  -----------------------------------------
 *   RemoteLogManagerConfig.configDef()           broker  tiered storage copies broker log segments
 *   ServerConfigs.CONFIG_DEF                     both    threads, request sizes, authorizer, ...
 *   KRaftConfigs.CONFIG_DEF                      both    process.roles, node.id, metadata settings
 *   MetadataLogConfig.CONFIG_DEF                 both    every node keeps the metadata log
 *   SocketServerConfigs.CONFIG_DEF               both    listeners, connection limits
 *   ReplicationConfigs.CONFIG_DEF                both    replica fetchers (broker), but also leader
 *                                                        election and default.replication.factor,
 *                                                        which the controller applies
 *   GroupCoordinatorConfig.CONFIG_DEF            broker  consumer groups, __consumer_offsets
 *   CleanerConfig.CONFIG_DEF                     broker  the log cleaner compacts broker logs
 *   LogConfig.SERVER_CONFIG_DEF                  both    log.* topic defaults (broker), but also
 *                                                        log.dirs, num.partitions and
 *                                                        min.insync.replicas, read by controllers
 *   ShareGroupConfig.CONFIG_DEF                  broker  share groups
 *   ShareCoordinatorConfig.CONFIG_DEF            broker  share group state topic
 *   TransactionLogConfig.CONFIG_DEF              broker  __transaction_state, producer ids
 *   TransactionStateManagerConfig.CONFIG_DEF     broker  transaction coordinator
 *   QuorumConfig.CONFIG_DEF                      both    brokers fetch from the quorum too
 *   MetricConfigs.CONFIG_DEF                     both    metrics reporters on every node
 *   QuotaConfig.CONFIG_DEF                       both    quota managers run on every node
 *   BrokerSecurityConfigs.CONFIG_DEF             both    SSL/SASL of every node's listeners
 *   DelegationTokenManagerConfigs.CONFIG_DEF     both    controllers store tokens, brokers check
 *   AddPartitionsToTxnConfig.CONFIG_DEF          broker  transaction verification on produce
 * </pre>
 *
 * <p>No component is controller-only. {@link #forKeys} fails when KafkaConfig has a setting that no
 * listed component defines, so a new component in a later Kafka is noticed and added here.
 */
final class Roles {
  private static final List<String> BROKER = List.of("broker");
  private static final List<String> BOTH = List.of("broker", "controller");

  private record Component(ConfigDef def, List<String> roles) {}

  private static final List<Component> COMPONENTS =
      List.of(
          new Component(RemoteLogManagerConfig.configDef(), BROKER),
          new Component(ServerConfigs.CONFIG_DEF, BOTH),
          new Component(KRaftConfigs.CONFIG_DEF, BOTH),
          new Component(MetadataLogConfig.CONFIG_DEF, BOTH),
          new Component(SocketServerConfigs.CONFIG_DEF, BOTH),
          new Component(ReplicationConfigs.CONFIG_DEF, BOTH),
          new Component(GroupCoordinatorConfig.CONFIG_DEF, BROKER),
          new Component(CleanerConfig.CONFIG_DEF, BROKER),
          new Component(LogConfig.SERVER_CONFIG_DEF, BOTH),
          new Component(ShareGroupConfig.CONFIG_DEF, BROKER),
          new Component(ShareCoordinatorConfig.CONFIG_DEF, BROKER),
          new Component(TransactionLogConfig.CONFIG_DEF, BROKER),
          new Component(TransactionStateManagerConfig.CONFIG_DEF, BROKER),
          new Component(QuorumConfig.CONFIG_DEF, BOTH),
          new Component(MetricConfigs.CONFIG_DEF, BOTH),
          new Component(QuotaConfig.CONFIG_DEF, BOTH),
          new Component(BrokerSecurityConfigs.CONFIG_DEF, BOTH),
          new Component(DelegationTokenManagerConfigs.CONFIG_DEF, BOTH),
          new Component(AddPartitionsToTxnConfig.CONFIG_DEF, BROKER));

  private Roles() {}

  /** Roles of every key of {@code AbstractKafkaConfig.CONFIG_DEF}; fails on an unmapped key. */
  static Map<String, List<String>> forKeys(Set<String> keys) {
    Map<String, Set<String>> roles = new TreeMap<>();
    for (Component component : COMPONENTS) {
      for (String key : component.def().names()) {
        roles.computeIfAbsent(key, k -> new TreeSet<>()).addAll(component.roles());
      }
    }
    Set<String> unmapped = new TreeSet<>(keys);
    unmapped.removeAll(roles.keySet());
    if (!unmapped.isEmpty()) {
      throw new IllegalStateException(
          "settings of "
              + AbstractKafkaConfig.class.getName()
              + " that no component in Roles.COMPONENTS defines (a new component? add it): "
              + unmapped);
    }
    Map<String, List<String>> out = new TreeMap<>();
    for (String key : keys) {
      out.put(key, List.copyOf(roles.get(key)));
    }
    return out;
  }
}
