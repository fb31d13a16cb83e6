{{/*
Names, labels and the operator's permissions, defined once for every template.
*/}}

{{/* The app name: the chart's, unless overridden. */}}
{{- define "kopfka.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name of the release's objects: the release name alone when it already says kopfka
(`helm install kopfka ...`), else "<release>-kopfka". 63 characters at most (label values).
*/}}
{{- define "kopfka.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "kopfka.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kopfka.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "kopfka.fullname" .) -}}
{{- end -}}

{{/* Where kopf's health endpoint answers (`kopfka run --liveness`). */}}
{{- define "kopfka.healthPath" -}}
/healthz
{{- end -}}

{{- define "kopfka.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* What selects the operator's pods; never changes across upgrades (selectors are immutable). */}}
{{- define "kopfka.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kopfka.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{/* The selector labels as key=value,key=value: KOPFKA_OPERATOR_POD_LABELS. */}}
{{- define "kopfka.selectorLabelList" -}}
{{- $pairs := list -}}
{{- range $key, $value := include "kopfka.selectorLabels" . | fromYaml -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Which release and chart made an object; with the selector labels on everything. */}}
{{- define "kopfka.releaseLabels" -}}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "kopfka.labels" -}}
{{ include "kopfka.selectorLabels" . }}
{{ include "kopfka.releaseLabels" . }}
{{- end -}}

{{/*
Everything the operator may do, for both modes: the ClusterRole (watchNamespaces empty) and the
Role in each watched namespace are made of these rules, so the two never disagree. The
integration tier runs the operator with exactly these permissions and fails on any request they
refuse and on any rule it never used (tests/integration/test_least_privilege.py).
Call with (dict "clusterWide" true|false).
*/}}
{{- define "kopfka.rbacRules" -}}
# KafkaClusters and KafkaTopics: watched; patched for kopf's own annotations (kopf.kopfka.dev/*).
- apiGroups: ["kopfka.dev"]
  resources: ["kafkaclusters", "kafkatopics"]
  verbs: ["get", "list", "watch", "patch"]
# Their status: conditions, node facts, the cluster id.
- apiGroups: ["kopfka.dev"]
  resources: ["kafkaclusters/status", "kafkatopics/status"]
  verbs: ["patch"]
# Kafka's pods: watched (only kopfka's, by label selector), labelled with their node id, and
# restarted one at a time by rolling restarts: evicted (the disruption budget decides), or deleted
# when the pod is down already and the budget counts it as the one that may be.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods/eviction"]
  verbs: ["create"]
# Volume claims carry the cluster id of the data on them.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["list", "patch"]
# KafkaUsers: listed and watched by the operator's informer, patched for their finalizer
# (kopfka.dev/delete-user: the credential and quotas leave Kafka first), and their status.
- apiGroups: ["kopfka.dev"]
  resources: ["kafkausers"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["kopfka.dev"]
  resources: ["kafkausers/status"]
  verbs: ["patch"]
# Broker configuration; the ConfigMaps of config revisions no pod uses any more are deleted.
# What kopfka makes is read from a cache that lists and watches it (labelled managed-by=kopfka);
# `get` is for names not in the cache (an object of the name that kopfka did not make).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The rest of a cluster, made and kept in place with server-side apply (create + patch). `delete`
# only undoes what the same apply just made for a new cluster when the API server refuses one of
# its objects (all or nothing, k8s/client.py `_make_all`); kopfka deletes no other object of these.
- apiGroups: [""]
  resources: ["services", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# The NetworkPolicy of a cluster with spec.networkPolicy, made and kept in place the same way, and
# deleted when the spec turns it off.
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# TLS listeners (docs/security.md): the cluster CA, its public certificate and the brokers' keys,
# made with server-side apply; a user's own CA Secret (spec.clusterCa.secretName) is read.
# KafkaUsers' password Secrets are made (create) and read by name. Read by name only: list and
# watch cannot be narrowed to kopfka's Secrets, and would let the operator read every Secret it
# can see.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "patch"]
# spec.clusterCa.certManager: a cert-manager Certificate per node, made and kept in place with
# server-side apply, listed (by label) to delete those of nodes that are gone; cert-manager issues
# them into Secrets, which are read by name (above).
- apiGroups: ["cert-manager.io"]
  resources: ["certificates"]
  verbs: ["get", "list", "create", "patch", "delete"]
# Topic and user Jobs: one at a time per cluster and kind, watched to completion (by label selector), annotated
# once their outcome is read, deleted when the next one starts.
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["list", "watch", "create", "delete", "patch"]
# A topic Job pod's log holds Kafka's answer for each topic.
- apiGroups: [""]
  resources: ["pods/log"]
  verbs: ["get"]
# Events on KafkaClusters and KafkaTopics for what a person should know (a topic Job failed, a
# finalizer was released).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .clusterWide }}
# Cluster-wide only: kopf watches the CRDs, so that it serves kopfka's kinds when they are
# installed or changed after the operator started. (`kopfka run -n` turns this scanning off.)
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end }}
{{- end -}}

{{/*
Whether the Prometheus Operator's kinds (PodMonitor, ServiceMonitor, PrometheusRule) can be made:
"true" when the cluster serves monitoring.coreos.com/v1, else empty, so that an install on a
cluster without the Prometheus Operator leaves them out instead of failing. `helm template`
knows only what `--api-versions` tells it.
*/}}
{{- define "kopfka.prometheusOperator" -}}
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" -}}true{{- end -}}
{{- end -}}

{{/* Labels of the monitoring objects: the chart's, and those a Prometheus selects them by. */}}
{{- define "kopfka.monitoringLabels" -}}
{{ include "kopfka.labels" . }}
{{- with .Values.monitoring.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}
