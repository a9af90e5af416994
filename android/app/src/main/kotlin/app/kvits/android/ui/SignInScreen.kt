package app.kvits.android.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import app.kvits.shared.Event
import app.kvits.shared.SessionEvent
import app.kvits.shared.SignInView

@Composable
fun SignInScreen(view: SignInView, send: Send) {
    // The typed e-mail and password stay in the UI until "Sign in" (the password never goes
    // into the core's state; the e-mail comes back from it after a failed attempt).
    var email by rememberSaveable(view.email) { mutableStateOf(view.email) }
    var password by rememberSaveable { mutableStateOf("") }
    Column(Modifier.padding(24.dp)) {
        Text("Sign in to Kvits", style = MaterialTheme.typography.headlineSmall)
        OutlinedTextField(
            value = email,
            onValueChange = { email = it },
            label = { Text("E-mail") },
            singleLine = true,
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email),
            modifier = Modifier.fillMaxWidth().padding(top = 16.dp),
        )
        OutlinedTextField(
            value = password,
            onValueChange = { password = it },
            label = { Text("Password") },
            singleLine = true,
            visualTransformation = PasswordVisualTransformation(),
            keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password),
            modifier = Modifier.fillMaxWidth().padding(top = 8.dp),
        )
        view.error?.let { Text(it, color = MaterialTheme.colorScheme.error, modifier = Modifier.padding(top = 8.dp)) }
        Button(
            onClick = { send(Event.Session(SessionEvent.SignIn(email.trim(), password))) },
            enabled = !view.busy && email.isNotBlank() && password.isNotEmpty(),
            modifier = Modifier.padding(top = 16.dp),
        ) { Text(if (view.busy) "Signing in…" else "Sign in") }
    }
}
