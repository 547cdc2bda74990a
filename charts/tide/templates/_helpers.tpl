{{- /*
Kept to Go's built-in template language (no sprig, no include/toYaml/nindent), so that the
tests can render the chart without Helm (test/install/chart.test.ts). A helper is used with
`template` right after a line that opens a mapping, and starts with its own newline.
*/ -}}

{{- /* Labels of every object, at the indentation of metadata.labels. */ -}}
{{- define "tide.labels" }}
    app.kubernetes.io/name: tide
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/part-of: tide
    app.kubernetes.io/version: {{ printf "%q" .Chart.AppVersion }}
    app.kubernetes.io/managed-by: {{ .Release.Service }}
    helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{- /* The image, shared by the operator and the zigbee agent. */ -}}
{{- define "tide.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end }}

{{- /* Container security context every Tide container has (the zigbee agent adds privilege only for a hostPath device). */ -}}
{{- define "tide.containerSecurity" }}
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: [ALL]
            seccompProfile:
              type: RuntimeDefault
{{- end }}
