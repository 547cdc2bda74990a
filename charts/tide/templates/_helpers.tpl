{{/*
Helpers of the Tide chart. Rendered by real Helm (helm template / install); the tests render it
with the helm binary scripts/envtest.sh builds (test/install/render.ts).
*/}}

{{/* The chart's name, or nameOverride: the app.kubernetes.io/name label and the object-name suffix. */}}
{{- define "tide.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object name: fullnameOverride, else the release name when it contains the
chart's name (release "tide" -> tide-operator), else "<release>-<name>".
Names get a suffix of up to 18 characters (-zigbee-agent-metrics), so the prefix stops at 45.
*/}}
{{- define "tide.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := include "tide.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tide.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select a component's pods: call with (dict "ctx" $ "component" "operator"). */}}
{{- define "tide.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tide.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Labels of a component's pods: the selector labels (which win) and the user's podLabels. Call
with (dict "ctx" $ "component" "operator" "extra" .Values.operator.podLabels).
*/}}
{{- define "tide.podLabels" -}}
{{- toYaml (merge (include "tide.selectorLabels" . | fromYaml) (.extra | default dict)) }}
{{- end }}

{{/* Labels of every object of a component: call with (dict "ctx" $ "component" "operator"). */}}
{{- define "tide.labels" -}}
{{ include "tide.selectorLabels" . }}
app.kubernetes.io/part-of: tide
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
helm.sh/chart: {{ include "tide.chart" .ctx }}
{{- end }}

{{/* Labels of the cluster-wide objects that belong to no one component (the ServiceMonitor). */}}
{{- define "tide.commonLabels" -}}
app.kubernetes.io/name: {{ include "tide.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: tide
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "tide.chart" . }}
{{- end }}

{{/* The image, shared by the operator and the zigbee agent. */}}
{{- define "tide.image" -}}
{{ required "image.repository is required" .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
imagePullSecrets as the pod spec wants them; values may give [{name: regcred}] (the usual form)
or plain names [regcred].
*/}}
{{- define "tide.imagePullSecrets" -}}
{{- range .Values.imagePullSecrets }}
{{- if kindIs "string" . }}
- name: {{ . | quote }}
{{- else }}
- name: {{ required "every imagePullSecrets entry needs a name" .name | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Container security context every Tide container has (the zigbee agent adds privilege only for a hostPath device). */}}
{{- define "tide.containerSecurity" -}}
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}
