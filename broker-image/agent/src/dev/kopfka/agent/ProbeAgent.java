package dev.kopfka.agent;

import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.management.InstanceNotFoundException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * Turns the broker's own MBeans into files that Kubernetes exec probes can check cheaply.
 *
 * <p>Loaded with {@code -javaagent:kopfka-agent.jar=WORK_DIR}; WORK_DIR holds the final
 * {@code server.properties} (for {@code process.roles}). Once a second it writes
 * {@code WORK_DIR/ready} while the node serves and deletes it otherwise, and it refreshes
 * {@code WORK_DIR/alive} as long as this JVM can still run a thread and has no deadlock.
 * A broker that spends an hour recovering logs keeps {@code alive} fresh, so liveness never
 * kills it, while readiness waits for RUNNING. Asking the same JVM avoids starting a second
 * JVM (an admin client or a JMX client) on every probe, which a small node cannot afford.
 */
public final class ProbeAgent {
  private static final long PERIOD_MS = 1000;
  // org.apache.kafka.metadata.BrokerState.RUNNING
  private static final int BROKER_STATE_RUNNING = 3;
  // Raft states of a voter that follows a leader or is the leader; brokers are "observer".
  private static final Set<String> VOTER_IN_QUORUM = Set.of("leader", "follower");

  private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
  private final Path ready;
  private final Path alive;
  private final boolean broker;
  private final boolean controller;
  private final ObjectName brokerState;
  private final ObjectName raftMetrics;
  private volatile boolean stopping;
  private String lastStatus = "";

  private ProbeAgent(Path workDir, String roles) throws Exception {
    this.ready = workDir.resolve("ready");
    this.alive = workDir.resolve("alive");
    this.broker = roles.contains("broker");
    this.controller = roles.contains("controller");
    this.brokerState = new ObjectName("kafka.server:type=KafkaServer,name=BrokerState");
    this.raftMetrics = new ObjectName("kafka.server:type=raft-metrics");
  }

  public static void premain(String args, Instrumentation inst) throws Exception {
    if (args == null || args.isEmpty()) {
      throw new IllegalArgumentException("kopfka-agent: usage -javaagent:kopfka-agent.jar=WORK_DIR");
    }
    Path workDir = Path.of(args);
    Properties config = new Properties();
    try (InputStream in = Files.newInputStream(workDir.resolve("server.properties"))) {
      config.load(in);
    }
    String roles = config.getProperty("process.roles", "").toLowerCase(Locale.ROOT);
    if (!roles.contains("broker") && !roles.contains("controller")) {
      throw new IllegalArgumentException("kopfka-agent: process.roles is empty in " + workDir);
    }
    ProbeAgent agent = new ProbeAgent(workDir, roles);
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "kopfka-probe-agent");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(agent::tick, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    // Drop readiness as soon as shutdown starts, in parallel with Kafka's own hook
    // (controlled shutdown), so no new traffic is sent to a node that is leaving.
    Runtime.getRuntime().addShutdownHook(new Thread(agent::stop, "kopfka-probe-agent-stop"));
  }

  private void stop() {
    stopping = true;
    delete(ready);
    log("stopping: not ready");
  }

  private void tick() {
    try {
      long[] deadlocked = ManagementFactory.getThreadMXBean().findDeadlockedThreads();
      if (deadlocked == null) {
        touch(alive);
      } else {
        report("deadlock among " + deadlocked.length + " threads: liveness stops");
      }
      if (stopping) {
        return;
      }
      String notReady = whyNotReady();
      if (notReady == null) {
        touch(ready);
        report("ready");
      } else {
        delete(ready);
        report("not ready: " + notReady);
      }
    } catch (Exception e) {
      // Never let an exception end the schedule: that would silently stop liveness.
      delete(ready);
      report("probe failed: " + e);
    }
  }

  /** Returns null when every role of this node serves, else the first reason it does not. */
  private String whyNotReady() throws Exception {
    if (broker) {
      Object state = attribute(brokerState, "Value");
      if (state == null) {
        return "BrokerState not registered yet";
      }
      int value = ((Number) state).intValue();
      if (value != BROKER_STATE_RUNNING) {
        return "BrokerState=" + value + ", waiting for " + BROKER_STATE_RUNNING + " (RUNNING)";
      }
    }
    if (controller) {
      Object state = attribute(raftMetrics, "current-state");
      if (state == null) {
        return "raft-metrics not registered yet";
      }
      double leader = ((Number) attribute(raftMetrics, "current-leader")).doubleValue();
      double highWatermark = ((Number) attribute(raftMetrics, "high-watermark")).doubleValue();
      if (!VOTER_IN_QUORUM.contains(String.valueOf(state)) || leader < 0 || highWatermark < 0) {
        return "raft current-state=" + state + " current-leader=" + (long) leader
            + " high-watermark=" + (long) highWatermark;
      }
    }
    return null;
  }

  private Object attribute(ObjectName name, String attribute) throws Exception {
    try {
      return mbeans.getAttribute(name, attribute);
    } catch (InstanceNotFoundException e) {
      return null;
    }
  }

  private void report(String status) {
    if (!status.equals(lastStatus)) {
      lastStatus = status;
      log(status);
    }
  }

  private static void log(String message) {
    System.err.println("kopfka-agent: " + message);
  }

  private static void touch(Path file) throws IOException {
    Files.write(file, new byte[0]);
  }

  private static void delete(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      log("cannot delete " + file + ": " + e);
    }
  }
}
