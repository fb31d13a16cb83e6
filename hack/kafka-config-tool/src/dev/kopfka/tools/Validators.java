package dev.kopfka.tools;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Describes a ConfigDef validator as JSON data that kopfka's Python can apply.
 *
 * <p>The parameters are read from the validator objects themselves (their fields, most of them
 * private), not parsed out of toString(), so a reworded description in a later Kafka cannot change
 * what the table says. A validator whose rule is code (a lambda, a class of its own) cannot be
 * described exactly and becomes {"kind": "other"} with its class and toString() for people to read.
 *
 * <p>Kinds (docs/kafka-config-tables.md has their exact semantics):
 *
 * <pre>
 *   ConfigDef.Range                              range: min, max (null = unbounded)
 *   ConfigDef.ValidString                        enum: values, caseInsensitive false
 *   ConfigDef.CaseInsensitiveValidString         enum: values (upper case), caseInsensitive true
 *   ConfigDef.ValidList                          list: values (null = any), allowEmpty, allowNull
 *   ConfigDef.ListSize                           list-size: maxSize
 *   ConfigDef.NonEmptyString                     non-empty-string
 *   ConfigDef.NonEmptyStringWithoutControlChars  non-empty-string-without-control-chars
 *   ConfigDef.NonNullValidator                   non-null
 *   ConfigDef.CompositeValidator                 composite: validators (all must pass, in order)
 *   any other validator of an INT or SHORT key   integers: values, when probing every whole
 *                                                number in [-PROBE, PROBE] finds a set of
 *                                                accepted values that stays away from both ends
 *                                                (e.g. compression.gzip.level: -1 and 1..9)
 *   anything else                                other: class, text
 * </pre>
 */
final class Validators {
  private static final int PROBE = 4096;

  private Validators() {}

  /** JSON-ready description of the validator of key `name` of type `type`, or null for none. */
  static Map<String, Object> describe(
      String name, ConfigDef.Type type, ConfigDef.Validator validator) {
    Map<String, Object> out = describe(validator);
    if (out == null || !"other".equals(out.get("kind"))) {
      return out;
    }
    if (type != ConfigDef.Type.INT && type != ConfigDef.Type.SHORT) {
      return out;
    }
    List<Integer> accepted = new ArrayList<>();
    for (int value = -PROBE; value <= PROBE; value++) {
      try {
        validator.ensureValid(name, type == ConfigDef.Type.SHORT ? (Object) (short) value : value);
        accepted.add(value);
      } catch (RuntimeException refused) {
        // not accepted: probe the next value
      }
    }
    if (accepted.isEmpty()
        || accepted.get(0) == -PROBE
        || accepted.get(accepted.size() - 1) == PROBE) {
      return out;
    }
    Map<String, Object> probed = new TreeMap<>();
    probed.put("kind", "integers");
    probed.put("values", accepted);
    return probed;
  }

  /** JSON-ready description of a validator, or null for none. */
  private static Map<String, Object> describe(ConfigDef.Validator validator) {
    if (validator == null) {
      return null;
    }
    // Exact classes only: a subclass may check something else.
    Class<?> type = validator.getClass();
    Map<String, Object> out = new TreeMap<>();
    if (type == ConfigDef.Range.class) {
      out.put("kind", "range");
      out.put("min", field(validator, "min"));
      out.put("max", field(validator, "max"));
    } else if (type == ConfigDef.ValidString.class) {
      out.put("kind", "enum");
      out.put("values", new ArrayList<>((Collection<?>) field(validator, "validStrings")));
      out.put("caseInsensitive", false);
    } else if (type == ConfigDef.CaseInsensitiveValidString.class) {
      // A set in Kafka: sorted here so the table is stable.
      out.put("kind", "enum");
      out.put("values", new TreeSet<>((Collection<?>) field(validator, "validStrings")));
      out.put("caseInsensitive", true);
    } else if (type == ConfigDef.ValidList.class) {
      Object validString = field(validator, "validString");
      List<?> values = (List<?>) field(validString, "validStrings");
      out.put("kind", "list");
      out.put("values", values.isEmpty() ? null : new ArrayList<>(values));
      out.put("allowEmpty", field(validator, "isEmptyAllowed"));
      out.put("allowNull", field(validator, "isNullAllowed"));
    } else if (type == ConfigDef.ListSize.class) {
      out.put("kind", "list-size");
      out.put("maxSize", field(validator, "maxSize"));
    } else if (type == ConfigDef.NonEmptyStringWithoutControlChars.class) {
      out.put("kind", "non-empty-string-without-control-chars");
    } else if (type == ConfigDef.NonEmptyString.class) {
      out.put("kind", "non-empty-string");
    } else if (type == ConfigDef.NonNullValidator.class) {
      out.put("kind", "non-null");
    } else if (type == ConfigDef.CompositeValidator.class) {
      List<Map<String, Object>> parts = new ArrayList<>();
      for (Object part : (List<?>) field(validator, "validators")) {
        parts.add(describe((ConfigDef.Validator) part));
      }
      out.put("kind", "composite");
      out.put("validators", parts);
    } else {
      out.put("kind", "other");
      out.put("class", type.getName());
      out.put("text", validator.toString());
    }
    return out;
  }

  /** The value of a declared field of the object's exact class, private or not. */
  private static Object field(Object target, String name) {
    try {
      Field field = target.getClass().getDeclaredField(name);
      field.setAccessible(true);
      return field.get(target);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(
          "Kafka's "
              + target.getClass().getName()
              + " has no field "
              + name
              + " any more: update Validators.describe for this Kafka version",
          e);
    }
  }
}
