package dev.kopfka.agent;

import java.util.Map;
import java.util.Set;

import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.security.auth.AuthenticationContext;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.KafkaPrincipalBuilder;
import org.apache.kafka.common.security.auth.KafkaPrincipalSerde;
import org.apache.kafka.common.security.auth.PlaintextAuthenticationContext;
import org.apache.kafka.common.security.auth.SslAuthenticationContext;
import org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder;
import org.apache.kafka.common.security.ssl.SslPrincipalMapper;

/**
 * Kafka's principal builder, except that a connection to one of the cluster's own listeners
 * (CONTROLLER, REPLICATION) is the principal {@code User:KOPFKA-INTERNAL}: a plaintext one instead
 * of {@code User:ANONYMOUS}, and a TLS one (with {@code spec.internalListeners.tls}, where the
 * listener requires a client certificate of the cluster CA, which kopfka issues to the cluster's
 * nodes and the operator only) instead of the certificate's distinguished name.
 *
 * <p>kopfka renders this as {@code principal.builder.class} when a KafkaCluster sets
 * {@code spec.authorization}, and names {@code User:KOPFKA-INTERNAL} a super user: nodes talking
 * to each other, and the operator and its Jobs (which reach Kafka on the replication listener
 * then), keep every right, while an unauthenticated client of a plaintext client listener stays
 * {@code User:ANONYMOUS}, which ACLs govern. Who may open a plaintext connection to the internal
 * listeners is a matter of the network (docs/security.md: the cluster's NetworkPolicy); with TLS
 * on them, of holding a certificate of the cluster CA. The name has upper-case letters, which no
 * KafkaUser name can have.
 *
 * <p>Every other connection (client listeners: SASL, TLS) gets the principal Kafka's own builder gives it. Kafka
 * makes one builder per listener and hands it that listener's settings ({@link #configure}), so
 * the delegate is built from the listener's {@code ssl.principal.mapping.rules}, as Kafka builds
 * its own: a client certificate on a listener with {@code authentication: tls} maps to
 * {@code User:<CN>} exactly as without this class. Kafka loads the class from the system class
 * path, where the JVM puts this agent's jar.
 */
public final class InternalListenerPrincipalBuilder
        implements KafkaPrincipalBuilder, KafkaPrincipalSerde, Configurable {
    /** The principal of the cluster's own listeners; render/config.py names it a super user. */
    public static final KafkaPrincipal INTERNAL = new KafkaPrincipal(KafkaPrincipal.USER_TYPE, "KOPFKA-INTERNAL");

    private static final Set<String> INTERNAL_LISTENERS = Set.of("CONTROLLER", "REPLICATION");
    private static final String MAPPING_RULES = "ssl.principal.mapping.rules";

    private DefaultKafkaPrincipalBuilder delegate = withRules("DEFAULT");

    private static DefaultKafkaPrincipalBuilder withRules(String rules) {
        return new DefaultKafkaPrincipalBuilder(null, SslPrincipalMapper.fromRules(rules));
    }

    @Override
    public void configure(Map<String, ?> configs) {
        Object rules = configs.get(MAPPING_RULES);
        if (rules != null) {
            delegate = withRules(rules.toString());
        }
    }

    @Override
    public KafkaPrincipal build(AuthenticationContext context) {
        if ((context instanceof PlaintextAuthenticationContext
                        || context instanceof SslAuthenticationContext)
                && INTERNAL_LISTENERS.contains(context.listenerName())) {
            return INTERNAL;
        }
        return delegate.build(context);
    }

    @Override
    public byte[] serialize(KafkaPrincipal principal) {
        return delegate.serialize(principal);
    }

    @Override
    public KafkaPrincipal deserialize(byte[] bytes) {
        return delegate.deserialize(bytes);
    }
}
