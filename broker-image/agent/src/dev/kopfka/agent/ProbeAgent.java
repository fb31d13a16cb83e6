package dev.kopfka.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
 * Answers the kubelet's HTTP probes from the broker's own MBeans.
 *
 * <p>Loaded with {@code -javaagent:kopfka-agent.jar=WORK_DIR,ADDRESS:PORT}; WORK_DIR holds the
 * final {@code server.properties} (for {@code process.roles}). Once a second a timer thread
 * looks at the node, and an HTTP server on ADDRESS:PORT answers from what it saw:
 *
 * <ul>
 *   <li>{@code GET /ready}: 200 while the node serves (broker RUNNING, controller in the quorum
 *       with a known leader), else 503 with the reason;
 *   <li>{@code GET /live}: 200 while the timer still runs and the JVM has no deadlock, else 503.
 *       A broker that spends an hour recovering logs stays live, while readiness waits.
 * </ul>
 *
 * <p>The kubelet calls these itself (httpGet probes), so a probe starts no process in the
 * container: exec probes cost a runc exec, a shell and two tools every few seconds per pod, which
 * a small node running several Kafka pods pays in throughput. Asking the same JVM also avoids a
 * second JVM (an admin or JMX client) per probe. The server starts in premain, before Kafka's
 * main, so liveness answers during the whole of a long log recovery.
 */
public final class ProbeAgent {
  private static final long PERIOD_MS = 1000;
  // A verdict older than this means the timer stopped looking: not ready, not live.
  private static final long READY_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long LIVE_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(30);
  // org.apache.kafka.metadata.BrokerState.RUNNING
  private static final int BROKER_STATE_RUNNING = 3;
  // Raft states of a voter that follows a leader or is the leader; brokers are "observer".
  private static final Set<String> VOTER_IN_QUORUM = Set.of("leader", "follower");

  private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
  private final boolean broker;
  private final boolean controller;
  private final ObjectName brokerState;
  private final ObjectName raftMetrics;
  private volatile boolean stopping;
  // null while ready; the reason otherwise.
  private volatile String notReady = "not looked yet";
  private volatile long lookedAt = System.nanoTime();
  private volatile long aliveAt = System.nanoTime();
  private String lastStatus = "";

  private ProbeAgent(String roles) throws Exception {
    this.broker = roles.contains("broker");
    this.controller = roles.contains("controller");
    this.brokerState = new ObjectName("kafka.server:type=KafkaServer,name=BrokerState");
    this.raftMetrics = new ObjectName("kafka.server:type=raft-metrics");
  }

  public static void premain(String args, Instrumentation inst) throws Exception {
    String[] parts = args == null ? new String[0] : args.split(",", -1);
    int colon = parts.length == 2 ? parts[1].lastIndexOf(':') : -1;
    if (colon < 0) {
      throw new IllegalArgumentException(
          "kopfka-agent: usage -javaagent:kopfka-agent.jar=WORK_DIR,ADDRESS:PORT, not " + args);
    }
    Path workDir = Path.of(parts[0]);
    InetSocketAddress address =
        new InetSocketAddress(
            parts[1].substring(0, colon), Integer.parseInt(parts[1].substring(colon + 1)));
    Properties config = new Properties();
    try (InputStream in = Files.newInputStream(workDir.resolve("server.properties"))) {
      config.load(in);
    }
    String roles = config.getProperty("process.roles", "").toLowerCase(Locale.ROOT);
    if (!roles.contains("broker") && !roles.contains("controller")) {
      throw new IllegalArgumentException("kopfka-agent: process.roles is empty in " + workDir);
    }
    ProbeAgent agent = new ProbeAgent(roles);
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "kopfka-probe-agent");
              t.setDaemon(true);
              return t;
            });
    // Started from the daemon thread, so the server's dispatcher thread is a daemon too and
    // never keeps the JVM alive after Kafka has shut down. A port taken is fatal: a node
    // whose probes cannot answer would be restarted by its liveness probe anyway.
    timer.submit(() -> agent.serve(address)).get();
    timer.scheduleWithFixedDelay(agent::tick, 0, PERIOD_MS, TimeUnit.MILLISECONDS);
    // Drop readiness as soon as shutdown starts, in parallel with Kafka's own hook
    // (controlled shutdown), so no new traffic is sent to a node that is leaving.
    Runtime.getRuntime().addShutdownHook(new Thread(agent::stop, "kopfka-probe-agent-stop"));
  }

  private Void serve(InetSocketAddress address) throws IOException {
    HttpServer server = HttpServer.create(address, 0);
    server.createContext("/ready", exchange -> answer(exchange, whyNotServing()));
    server.createContext("/live", exchange -> answer(exchange, whyNotLive()));
    server.start();
    log("probes on http://" + address.getHostString() + ":" + address.getPort() + "/{ready,live}");
    return null;
  }

  private String whyNotServing() {
    if (stopping) {
      return "shutting down";
    }
    String reason = notReady;
    if (reason == null && System.nanoTime() - lookedAt > READY_MAX_AGE_NANOS) {
      return "the probe agent stopped looking";
    }
    return reason;
  }

  private String whyNotLive() {
    long age = System.nanoTime() - aliveAt;
    return age <= LIVE_MAX_AGE_NANOS
        ? null
        : "no sign of life for " + TimeUnit.NANOSECONDS.toSeconds(age) + " s";
  }

  /** 200 "ok" when {@code problem} is null, else 503 with the problem; GET and HEAD only. */
  private static void answer(HttpExchange exchange, String problem) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      int code;
      String text;
      if (!method.equals("GET") && !method.equals("HEAD")) {
        code = 405;
        text = "GET or HEAD only";
      } else if (problem == null) {
        code = 200;
        text = "ok";
      } else {
        code = 503;
        text = problem;
      }
      byte[] body = (text + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
      boolean head = method.equals("HEAD");
      exchange.sendResponseHeaders(code, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  private void stop() {
    stopping = true;
    log("stopping: not ready");
  }

  private void tick() {
    try {
      long[] deadlocked = ManagementFactory.getThreadMXBean().findDeadlockedThreads();
      if (deadlocked == null) {
        aliveAt = System.nanoTime();
      } else {
        report("deadlock among " + deadlocked.length + " threads: liveness stops");
      }
      if (stopping) {
        return;
      }
      String reason = whyNotReady();
      notReady = reason;
      lookedAt = System.nanoTime();
      report(reason == null ? "ready" : "not ready: " + reason);
    } catch (Exception e) {
      // Never let an exception end the schedule: that would silently stop liveness.
      notReady = "probe failed: " + e;
      lookedAt = System.nanoTime();
      report(notReady);
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
}
